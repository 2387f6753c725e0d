//! The hooks the host calls, and the shape each one must return.
//!
//! A wrong shape is the script's fault and becomes [`crate::PolicyError::Failed`], so the host
//! can rely on these shapes after a successful [`crate::Policy::call`].

use serde_json::Value;

use okienko_domain::config::FieldKind;

pub const FORM_FIELDS: &str = "form_fields";
pub const VALIDATE_BOOKING: &str = "validate_booking";
pub const IDENTITY_KEYS: &str = "identity_keys";
pub const MAP_CLAIMS: &str = "map_claims";
pub const VALIDATE_CHANGE: &str = "validate_change";
pub const QUEUE_ORDER: &str = "queue_order";

/// Every hook the host knows. All are optional.
pub const HOOKS: &[&str] = &[
    FORM_FIELDS,
    VALIDATE_BOOKING,
    IDENTITY_KEYS,
    MAP_CLAIMS,
    VALIDATE_CHANGE,
    QUEUE_ORDER,
];

/// The kinds of identity a booking can count against (`identity_keys`).
pub const IDENTITY_KINDS: &[&str] = &[
    "email",
    "phone",
    "registration_number",
    "vin_tail",
    "application_number",
];

/// Identity keys one booking may count against (`identity_keys`).
pub const MAX_IDENTITY_KEYS: usize = 16;
/// Entries of a returned map of client data or form fields (`validate_booking`, `map_claims`),
/// and fields of a form (`form_fields`).
pub const MAX_MAP_ENTRIES: usize = 64;
/// Bytes of one returned text value (an identity key, a field's value, a claim).
pub const MAX_VALUE_BYTES: usize = 2048;
/// Bytes of a whole returned value, as JSON.
pub const MAX_RESULT_BYTES: usize = 64 * 1024;

/// Checks that a known hook's return value is within what the host takes (the limits above);
/// the error completes the sentence "`hook` returned …". A value past them is the script's
/// excess, not a shape it got wrong: the caller reports it as over the budget.
pub fn check_size(hook: &str, v: &Value) -> Result<(), String> {
    let bytes = serde_json::to_vec(v).map_or(usize::MAX, |b| b.len());
    if bytes > MAX_RESULT_BYTES {
        return Err(format!(
            "{bytes} bytes, at most {MAX_RESULT_BYTES} are taken"
        ));
    }
    let entries = |what: &str, n: usize, max: usize| {
        if n > max {
            Err(format!("{n} {what}, at most {max} are taken"))
        } else {
            Ok(())
        }
    };
    match hook {
        IDENTITY_KEYS => entries(
            "identity keys",
            v.as_array().map_or(0, Vec::len),
            MAX_IDENTITY_KEYS,
        )?,
        FORM_FIELDS => entries("fields", v.as_array().map_or(0, Vec::len), MAX_MAP_ENTRIES)?,
        VALIDATE_BOOKING => {
            for part in ["client", "fields"] {
                let n = v
                    .get(part)
                    .and_then(Value::as_object)
                    .map_or(0, |m| m.len());
                entries(&format!("entries in `{part}`"), n, MAX_MAP_ENTRIES)?;
            }
        }
        MAP_CLAIMS => entries(
            "entries",
            v.as_object().map_or(0, |m| m.len()),
            MAX_MAP_ENTRIES,
        )?,
        _ => return Ok(()),
    }
    match longest_text(v) {
        n if n > MAX_VALUE_BYTES => Err(format!(
            "a text of {n} bytes, at most {MAX_VALUE_BYTES} are taken"
        )),
        _ => Ok(()),
    }
}

fn longest_text(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len(),
        Value::Array(a) => a.iter().map(longest_text).max().unwrap_or(0),
        Value::Object(m) => m.values().map(longest_text).max().unwrap_or(0),
        _ => 0,
    }
}

/// Checks a known hook's return value; other hook names may return anything.
/// The error completes the sentence "`hook` returned …".
pub fn check_return(hook: &str, v: &Value) -> Result<(), String> {
    match hook {
        FORM_FIELDS => nullable(v, |v| {
            let items = v.as_array().ok_or("not an array of field maps")?;
            items
                .iter()
                .enumerate()
                .try_for_each(|(i, f)| field_spec(f).map_err(|e| format!("field [{i}]: {e}")))
        }),
        VALIDATE_BOOKING => nullable(v, |v| {
            let m = v.as_object().ok_or("neither () nor a map")?;
            for (k, part) in m {
                match k.as_str() {
                    "client" => client_map(part).map_err(|e| format!("client: {e}"))?,
                    "fields" => string_map(part).map_err(|e| format!("fields: {e}"))?,
                    other => return Err(format!("an unknown key `{other}` (client, fields)")),
                }
            }
            Ok(())
        }),
        IDENTITY_KEYS => nullable(v, |v| {
            let items = v.as_array().ok_or("not an array of #{ kind, value }")?;
            for (i, k) in items.iter().enumerate() {
                let kind = k.get("kind").and_then(Value::as_str).unwrap_or("");
                if !IDENTITY_KINDS.contains(&kind) {
                    return Err(format!(
                        "[{i}]: kind `{kind}` is not one of {IDENTITY_KINDS:?}"
                    ));
                }
                let value = k.get("value").and_then(Value::as_str).unwrap_or("");
                if value.trim().is_empty() {
                    return Err(format!("[{i}]: an empty value"));
                }
            }
            Ok(())
        }),
        MAP_CLAIMS => client_map(v),
        VALIDATE_CHANGE => match v {
            Value::Null => Ok(()),
            _ => Err("a value (refuse with throw, accept with ())".into()),
        },
        QUEUE_ORDER => {
            let items = v.as_array().ok_or("not an array of ticket ids")?;
            if items
                .iter()
                .all(|x| x.is_string() || x.is_i64() || x.is_u64())
            {
                Ok(())
            } else {
                Err("an array with something else than ids".into())
            }
        }
        _ => Ok(()),
    }
}

fn nullable(v: &Value, f: impl FnOnce(&Value) -> Result<(), String>) -> Result<(), String> {
    if v.is_null() {
        Ok(())
    } else {
        f(v)
    }
}

fn client_map(v: &Value) -> Result<(), String> {
    let m = v.as_object().ok_or("not a map #{ name, email, phone }")?;
    for (k, x) in m {
        if !matches!(k.as_str(), "name" | "email" | "phone") {
            return Err(format!("an unknown key `{k}` (name, email, phone)"));
        }
        if !(x.is_null() || x.is_string()) {
            return Err(format!("`{k}` that is not text"));
        }
    }
    Ok(())
}

fn string_map(v: &Value) -> Result<(), String> {
    let m = v.as_object().ok_or("not a map")?;
    match m.iter().find(|(_, x)| !(x.is_null() || x.is_string())) {
        Some((k, _)) => Err(format!("`{k}` that is not text")),
        None => Ok(()),
    }
}

fn field_spec(f: &Value) -> Result<(), String> {
    let m = f.as_object().ok_or("not a map")?;
    let text = |k: &str| m.get(k).and_then(Value::as_str);
    if text("key").is_none_or(|k| k.is_empty()) {
        return Err("no `key`".into());
    }
    if text("label").is_none_or(|l| l.trim().is_empty()) {
        return Err("no `label`".into());
    }
    let kind = m.get("kind").cloned().unwrap_or(Value::Null);
    serde_json::from_value::<FieldKind>(kind.clone())
        .map_err(|_| format!("an unknown kind {kind}"))?;
    for (k, x) in m {
        let ok = match k.as_str() {
            "key" | "label" | "kind" => true,
            "required" => x.is_boolean() || x.is_null(),
            "help" | "pattern" => x.is_string() || x.is_null(),
            _ => return Err(format!("an unknown key `{k}`")),
        };
        if !ok {
            return Err(format!("`{k}` of the wrong type"));
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes() {
        assert!(check_return(VALIDATE_BOOKING, &Value::Null).is_ok());
        assert!(check_return(
            VALIDATE_BOOKING,
            &json!({"client": {"phone": "48600100200"}})
        )
        .is_ok());
        assert!(check_return(VALIDATE_BOOKING, &json!(true)).is_err());
        assert!(check_return(VALIDATE_BOOKING, &json!({"slot": {}})).is_err());
        assert!(check_return(
            IDENTITY_KEYS,
            &json!([{"kind": "email", "value": "a@b.pl"}])
        )
        .is_ok());
        assert!(check_return(IDENTITY_KEYS, &json!([{"kind": "pesel", "value": "1"}])).is_err());
        assert!(check_return(IDENTITY_KEYS, &json!([{"kind": "email", "value": ""}])).is_err());
        assert!(check_return(MAP_CLAIMS, &json!({"name": "Jan Kowalski", "email": null})).is_ok());
        assert!(check_return(MAP_CLAIMS, &Value::Null).is_err());
        assert!(check_return(VALIDATE_CHANGE, &json!(1)).is_err());
        assert!(check_return(QUEUE_ORDER, &json!(["a", 2])).is_ok());
        assert!(check_return(QUEUE_ORDER, &json!([{}])).is_err());
        let field = json!({"key": "vin_tail", "label": "VIN", "kind": "vin_tail", "required": false, "pattern": "^[0-9]{5}$"});
        assert!(check_return(FORM_FIELDS, &json!([field])).is_ok());
        assert!(check_return(
            FORM_FIELDS,
            &json!([{"key": "x", "label": "X", "kind": "colour"}])
        )
        .is_err());
        assert!(check_return("something_else", &json!(1)).is_ok());
    }

    #[test]
    fn sizes() {
        let keys = |n: usize| {
            Value::Array(
                (0..n)
                    .map(|i| json!({"kind": "email", "value": format!("a{i}@b.pl")}))
                    .collect(),
            )
        };
        assert!(check_size(IDENTITY_KEYS, &keys(MAX_IDENTITY_KEYS)).is_ok());
        let flood = check_size(IDENTITY_KEYS, &keys(10_000)).unwrap_err();
        assert!(
            flood.contains("bytes") || flood.contains("identity keys"),
            "{flood}"
        );
        let too_many = check_size(IDENTITY_KEYS, &keys(MAX_IDENTITY_KEYS + 1)).unwrap_err();
        assert!(too_many.contains("17 identity keys"), "{too_many}");
        let fields: serde_json::Map<String, Value> = (0..=MAX_MAP_ENTRIES)
            .map(|i| (format!("f{i}"), json!("x")))
            .collect();
        assert!(check_size(VALIDATE_BOOKING, &json!({ "fields": fields })).is_err());
        let long = "x".repeat(MAX_VALUE_BYTES + 1);
        assert!(check_size(MAP_CLAIMS, &json!({ "name": long })).is_err());
        assert!(check_size(VALIDATE_BOOKING, &Value::Null).is_ok());
        assert!(check_size(QUEUE_ORDER, &json!([1, 2, 3])).is_ok());
    }
}
