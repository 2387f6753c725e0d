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
}
