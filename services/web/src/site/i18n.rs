//! The citizen pages' languages (W-1): Polish by default, English and Ukrainian. Every text of
//! the pages comes from one Fluent catalogue per language (`i18n/{pl,en,uk}/site.ftl`, embedded
//! in the binary); the city's own texts (service names, terms) stay as configured, in Polish.
//! The language is chosen by a `?lang=` link and remembered in a cookie.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::http::{header, HeaderMap};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

/// The cookie that remembers the chosen language.
pub const COOKIE: &str = "okienko_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    Pl,
    En,
    Uk,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::Pl, Lang::En, Lang::Uk];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Pl => "pl",
            Lang::En => "en",
            Lang::Uk => "uk",
        }
    }

    /// The language's own name, as the switch shows it.
    pub fn own_name(self) -> &'static str {
        match self {
            Lang::Pl => "Polski",
            Lang::En => "English",
            Lang::Uk => "Українська",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.code() == s.trim())
    }

    /// The catalogue's files: the citizen pages', the e-mailed links' pages' and one per office
    /// screen.
    fn sources(self) -> [&'static str; 6] {
        macro_rules! files {
            ($lang:literal) => {
                [
                    include_str!(concat!("../../i18n/", $lang, "/site.ftl")),
                    include_str!(concat!("../../i18n/", $lang, "/links.ftl")),
                    include_str!(concat!("../../i18n/", $lang, "/staff.ftl")),
                    include_str!(concat!("../../i18n/", $lang, "/kiosk.ftl")),
                    include_str!(concat!("../../i18n/", $lang, "/display.ftl")),
                    include_str!(concat!("../../i18n/", $lang, "/desk.ftl")),
                ]
            };
        }
        match self {
            Lang::Pl => files!("pl"),
            Lang::En => files!("en"),
            Lang::Uk => files!("uk"),
        }
    }
}

type Bundle = FluentBundle<FluentResource>;

fn bundles() -> &'static HashMap<Lang, Bundle> {
    static B: OnceLock<HashMap<Lang, Bundle>> = OnceLock::new();
    B.get_or_init(|| {
        Lang::ALL
            .into_iter()
            .map(|l| {
                let langid = l.code().parse().unwrap_or_default();
                let mut b = Bundle::new_concurrent(vec![langid]);
                // No Unicode isolation marks around arguments: the pages set `lang` and
                // direction is always left to right in these three languages.
                b.set_use_isolating(false);
                // A catalogue that does not parse is a build mistake, caught by the tests
                // below; at run time its good messages are still used.
                for source in l.sources() {
                    let res =
                        FluentResource::try_new(source.to_string()).unwrap_or_else(|(r, _)| r);
                    let _ = b.add_resource(res);
                }
                (l, b)
            })
            .collect()
    })
}

/// The translator a page renders with.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn new(lang: Lang) -> Tr {
        Tr { lang }
    }

    /// The message `id`; the Polish one when this language lacks it; the id itself when none has it.
    pub fn t(&self, id: &str) -> String {
        self.format(id, None)
    }

    /// The message `id` with one argument.
    pub fn t1(&self, id: &str, name: &str, value: &str) -> String {
        self.ta(id, &[(name, value)])
    }

    /// The message `id` with arguments.
    pub fn ta(&self, id: &str, args: &[(&str, &str)]) -> String {
        let mut fa = FluentArgs::new();
        for (k, v) in args {
            fa.set(k.to_string(), FluentValue::from(v.to_string()));
        }
        self.format(id, Some(&fa))
    }

    fn format(&self, id: &str, args: Option<&FluentArgs>) -> String {
        for lang in [self.lang, Lang::Pl] {
            let Some(b) = bundles().get(&lang) else {
                continue;
            };
            if let Some(pattern) = b.get_message(id).and_then(|m| m.value()) {
                let mut errors = Vec::new();
                return b.format_pattern(pattern, args, &mut errors).into_owned();
            }
        }
        id.to_string()
    }

    pub fn month(&self, m: u32) -> String {
        self.t(&format!("month-{m}"))
    }

    /// Short weekday name, 1 = Monday.
    pub fn weekday(&self, d: u32) -> String {
        self.t(&format!("wd-{d}"))
    }

    pub fn weekday_long(&self, d: u32) -> String {
        self.t(&format!("wdl-{d}"))
    }
}

/// The language of a request: `?lang=` first (the switch's links), then the cookie, then Polish.
/// Returns whether the cookie should be (re)set.
pub fn choose(query_lang: Option<&str>, headers: &HeaderMap) -> (Lang, bool) {
    if let Some(l) = query_lang.and_then(Lang::parse) {
        return (l, cookie_lang(headers) != Some(l));
    }
    (cookie_lang(headers).unwrap_or(Lang::Pl), false)
}

fn cookie_lang(headers: &HeaderMap) -> Option<Lang> {
    super::cookie(headers, COOKIE).and_then(|v| Lang::parse(&v))
}

/// The `Set-Cookie` value remembering `lang` for a year.
pub fn set_cookie(lang: Lang) -> (header::HeaderName, String) {
    (
        header::SET_COOKIE,
        format!(
            "{COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly",
            lang.code()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every catalogue parses and has every message of the Polish one.
    #[test]
    fn catalogues_parse_and_match() {
        let ids = |l: Lang| -> Vec<String> {
            for source in l.sources() {
                if let Err((_, e)) = FluentResource::try_new(source.to_string()) {
                    panic!("{}: {e:?}", l.code());
                }
            }
            l.sources()
                .iter()
                .flat_map(|source| source.lines())
                .filter_map(|line| line.split_once(" = ").map(|(id, _)| id.trim()))
                .filter(|id| !id.starts_with('#') && !id.is_empty())
                .map(str::to_string)
                .collect()
        };
        // Every message resolves in every language's own bundle.
        for l in Lang::ALL {
            let b = bundles().get(&l).expect("a bundle per language");
            for id in ids(Lang::Pl) {
                assert!(b.has_message(&id), "{} lacks {id}", l.code());
            }
        }
        let pl = ids(Lang::Pl);
        assert!(pl.len() > 80, "{}", pl.len());
        for l in [Lang::En, Lang::Uk] {
            let other = ids(l);
            let missing: Vec<_> = pl.iter().filter(|id| !other.contains(id)).collect();
            assert!(missing.is_empty(), "{} lacks {missing:?}", l.code());
        }
    }

    #[test]
    fn messages_format_with_arguments() {
        let en = Tr::new(Lang::En);
        assert_eq!(en.t("continue"), "Continue");
        assert_eq!(en.t1("start-phone-text", "phone", "68 1"), "Phone: 68 1");
        assert_eq!(Tr::new(Lang::Pl).month(12), "grudzień");
        assert_eq!(Tr::new(Lang::Uk).weekday(1), "Пн");
        assert_eq!(en.t("no-such-message"), "no-such-message");
    }

    #[test]
    fn the_link_wins_over_the_cookie() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=b; okienko_lang=uk".parse().expect("a header value"),
        );
        assert_eq!(choose(None, &h), (Lang::Uk, false));
        assert_eq!(choose(Some("en"), &h), (Lang::En, true));
        assert_eq!(choose(Some("uk"), &h), (Lang::Uk, false));
        assert_eq!(choose(Some("xx"), &HeaderMap::new()), (Lang::Pl, false));
    }
}
