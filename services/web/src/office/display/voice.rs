//! The spoken call as audio (CI-7), rendered on the server so that a display speaks Polish
//! without internet and without the browser's voices (Chromium on Linux has none without
//! speech-dispatcher): Debian's `espeak-ng` with its Polish voice, to WAV, once per text.
//!
//! Only texts built here from a ticket number and a desk number are ever rendered
//! ([`announcement`]), never text from the client, so the endpoint is no general text-to-speech
//! service. Renders run as child processes with a deadline, at most [`RENDERS`] at once; the
//! WAVs are kept in a cache bounded by bytes, and concurrent requests for one text render once.

use std::path::PathBuf;
use std::sync::OnceLock;

use axum::body::Bytes;
use std::time::Duration;

use okienko_domain::queue::{is_letter, voice_text};
use tokio::sync::Semaphore;

/// The program, looked up on `PATH` (Debian: `/usr/bin/espeak-ng`).
const PROGRAM: &str = "espeak-ng";
/// Renders running at once; the others wait for a turn.
const RENDERS: usize = 2;
/// How long one render may take before its process is killed.
const RENDER_WITHIN: Duration = Duration::from_secs(5);
/// The cache's bound: about a hundred announcements of a second and a half.
const CACHE_BYTES: u64 = 16 * 1024 * 1024;
/// One announcement's WAV at most (a few seconds of 22 kHz mono is ~150 KiB).
const MAX_WAV: usize = 2 * 1024 * 1024;

/// Why no audio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VoiceError {
    /// `espeak-ng` is not installed: the page speaks with the browser's synthesis.
    Unavailable,
    /// It failed, ran too long or wrote no WAV.
    Failed(String),
}

/// The text spoken for ticket `number` called to `desk`, when `number` is a ticket's number as
/// printed (one to three capital letters, three or four digits: A023, UM1234); `None` for
/// anything else.
pub fn announcement(number: &str, desk: u32) -> Option<String> {
    let split = number.find(|c: char| c.is_ascii_digit())?;
    let (letters, digits) = number.split_at(split);
    let ok = is_letter(letters)
        && (3..=4).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (1..=999).contains(&desk);
    ok.then(|| voice_text(number, i64::from(desk)))
}

struct Voice {
    program: Option<PathBuf>,
    renders: Semaphore,
    cache: moka::future::Cache<String, Bytes>,
}

fn voice() -> &'static Voice {
    static V: OnceLock<Voice> = OnceLock::new();
    V.get_or_init(|| Voice {
        program: find_program(),
        renders: Semaphore::new(RENDERS),
        cache: moka::future::Cache::builder()
            .max_capacity(CACHE_BYTES)
            .weigher(|k: &String, v: &Bytes| u32::try_from(k.len() + v.len()).unwrap_or(u32::MAX))
            .build(),
    })
}

fn find_program() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(PROGRAM))
        .find(|p| p.is_file())
}

/// Whether the server speaks (espeak-ng is installed); otherwise the browser does.
pub fn available() -> bool {
    voice().program.is_some()
}

/// The WAV of `text` (an [`announcement`]) and whether it came from the cache.
pub async fn wav(text: &str) -> Result<(Bytes, bool), VoiceError> {
    let v = voice();
    let Some(program) = v.program.clone() else {
        return Err(VoiceError::Unavailable);
    };
    if let Some(hit) = v.cache.get(text).await {
        return Ok((hit, true));
    }
    let owned = text.to_string();
    v.cache
        .try_get_with(owned.clone(), async move {
            let _turn = v
                .renders
                .acquire()
                .await
                .map_err(|e| VoiceError::Failed(e.to_string()))?;
            render(&program, &owned).await.map(Bytes::from)
        })
        .await
        .map(|w| (w, false))
        .map_err(|e| (*e).clone())
}

async fn render(program: &PathBuf, text: &str) -> Result<Vec<u8>, VoiceError> {
    let child = tokio::process::Command::new(program)
        .args(["-v", "pl", "-s", "140", "--stdout", text])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| VoiceError::Failed(format!("{PROGRAM}: {e}")))?;
    let out = tokio::time::timeout(RENDER_WITHIN, child.wait_with_output())
        .await
        .map_err(|_| VoiceError::Failed(format!("{PROGRAM}: no answer within 5 s")))?
        .map_err(|e| VoiceError::Failed(format!("{PROGRAM}: {e}")))?;
    if !out.status.success() || out.stdout.len() > MAX_WAV {
        return Err(VoiceError::Failed(format!(
            "{PROGRAM}: {} with {} bytes",
            out.status,
            out.stdout.len()
        )));
    }
    let mut wav = out.stdout;
    fix_sizes(&mut wav).ok_or_else(|| VoiceError::Failed(format!("{PROGRAM}: not a WAV")))?;
    Ok(wav)
}

/// `espeak-ng --stdout` writes a stream's header, its RIFF and data sizes unknown
/// (0x7ffff…); a browser given the whole file wants the real ones.
fn fix_sizes(wav: &mut [u8]) -> Option<()> {
    if wav.len() < 12 || &wav[..4] != b"RIFF" || &wav[8..12] != b"WAVE" {
        return None;
    }
    let riff = u32::try_from(wav.len() - 8).ok()?;
    wav[4..8].copy_from_slice(&riff.to_le_bytes());
    // The chunks after "WAVE": id, size, body; the data chunk runs to the end.
    let mut at = 12;
    while at + 8 <= wav.len() {
        let size = u32::from_le_bytes(wav[at + 4..at + 8].try_into().ok()?);
        if &wav[at..at + 4] == b"data" {
            let data = u32::try_from(wav.len() - at - 8).ok()?;
            wav[at + 4..at + 8].copy_from_slice(&data.to_le_bytes());
            return Some(());
        }
        at = at
            .checked_add(8)?
            .checked_add(usize::try_from(size).ok()?)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ticket_numbers_and_desks_are_spoken() {
        assert_eq!(
            announcement("A023", 4).as_deref(),
            Some("Numer A 0 2 3, stanowisko 4")
        );
        assert_eq!(
            announcement("UM1234", 12).as_deref(),
            Some("Numer U M 1 2 3 4, stanowisko 12")
        );
        for bad in [
            "", "A", "023", "a023", "A02", "A02345", "ABCD001", "A0 23", "Ż001", "A023x",
        ] {
            assert_eq!(announcement(bad, 1), None, "{bad:?}");
        }
        assert_eq!(announcement("A023", 0), None);
        assert_eq!(announcement("A023", 1000), None);
    }

    #[test]
    fn stream_sizes_are_fixed() {
        let mut w = Vec::new();
        w.extend_from_slice(b"RIFF\xff\xff\xff\x7fWAVEfmt ");
        w.extend_from_slice(&16u32.to_le_bytes());
        w.extend_from_slice(&[0; 16]);
        w.extend_from_slice(b"data\xff\xff\xff\x7f");
        w.extend_from_slice(&[1, 2, 3, 4]);
        fix_sizes(&mut w).expect("a WAV");
        assert_eq!(u32::from_le_bytes([w[4], w[5], w[6], w[7]]), 48 - 8);
        assert_eq!(u32::from_le_bytes([w[40], w[41], w[42], w[43]]), 4);
        assert_eq!(fix_sizes(&mut b"RIFX....".to_vec()), None);
    }
}
