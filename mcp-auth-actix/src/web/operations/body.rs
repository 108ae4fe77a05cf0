//! Reading the JSON-RPC body the guard authorizes: no content coding,
//! bounded, strict JSON (no duplicate member names), and the operations of
//! a message or batch.

use super::*;

/// Refuses content codings: decoding here and again in the handler (or
/// not decoding here) would let the handler see a body the guard did not.
pub(crate) fn check_content_encoding(req: &HttpRequest) -> Result<(), RequestError> {
    let identity = req.headers().get_all(header::CONTENT_ENCODING).all(|v| {
        v.to_str()
            .is_ok_and(|v| v.trim().eq_ignore_ascii_case("identity"))
    });
    if identity {
        Ok(())
    } else {
        Err(RequestError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            RequestError::INVALID_REQUEST,
            "Compressed request bodies are not accepted on this endpoint; send identity.",
        ))
    }
}

/// Reads the whole body (after [`check_content_encoding`]), bounded by the
/// app's `PayloadConfig` (256 KiB by default).
pub(crate) async fn read_body(
    req: &HttpRequest,
    mut payload: Payload,
) -> Result<Bytes, actix_web::Error> {
    Bytes::from_request(req, &mut payload).await
}

/// Reads and drops a small unread body (at most 64 KiB, within 1 s): actix
/// closes the connection after a response to a request whose body was
/// not read, which would cost an MCP client a reconnect after every 401.
pub(crate) async fn drain(req: &HttpRequest, mut payload: Payload) {
    const LIMIT: u64 = 64 * 1024;
    let small = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .is_some_and(|len| len <= LIMIT);
    if !small {
        return;
    }
    let read_all = async {
        let mut seen = 0u64;
        while let Some(Ok(chunk)) = payload.next().await {
            seen += chunk.len() as u64;
            if seen > LIMIT {
                break;
            }
        }
    };
    let _ = actix_rt::time::timeout(std::time::Duration::from_secs(1), read_all).await;
}

/// Parses a non-empty body as strict JSON: duplicate member names are
/// refused, since parsers disagree on which one wins.
pub(super) fn parse_strict(bytes: &[u8]) -> Result<Value, RequestError> {
    serde_json::from_slice::<Strict>(bytes)
        .map(|strict| strict.0)
        .map_err(|_| {
            RequestError::bad_request(
                RequestError::PARSE_ERROR,
                "The request body is not valid JSON (or repeats a member name).",
            )
        })
}

/// The JSON-RPC requests and notifications of a message or a non-empty
/// batch (responses have no method and need no scopes).
pub(super) fn operations(body: &Value) -> Result<Vec<Operation<'_>>, RequestError> {
    let messages: &[Value] = match body {
        Value::Array(batch) if !batch.is_empty() => batch,
        Value::Object(_) => std::slice::from_ref(body),
        _ => {
            return Err(RequestError::bad_request(
                RequestError::INVALID_REQUEST,
                "The body must be a JSON-RPC message or a non-empty batch of them.",
            ));
        }
    };
    let mut operations = Vec::with_capacity(messages.len());
    for message in messages {
        if let Some(op) = operation(message)? {
            operations.push(op);
        }
    }
    Ok(operations)
}

pub(super) fn operation(message: &Value) -> Result<Option<Operation<'_>>, RequestError> {
    let invalid =
        |message: &'static str| RequestError::bad_request(RequestError::INVALID_REQUEST, message);
    let Value::Object(object) = message else {
        return Err(invalid("Every JSON-RPC message must be an object."));
    };
    let id = object.get("id");
    let method = match object.get("method") {
        None => return Ok(None),
        Some(Value::String(method)) => method.as_str(),
        Some(_) => return Err(invalid("`method` must be a string.").with_id(id)),
    };
    let params = object.get("params");
    if params.is_some_and(|p| !matches!(p, Value::Object(_) | Value::Array(_))) {
        return Err(invalid("`params` must be an object or an array.").with_id(id));
    }
    let member = match method {
        "tools/call" | "prompts/get" => Some("name"),
        m if is_resource_method(m) => Some("uri"),
        _ => None,
    };
    let name = match member {
        None => None,
        Some(member) => match params.and_then(|p| p.get(member)) {
            Some(Value::String(name)) => Some(name.as_str()),
            _ => {
                return Err(RequestError::bad_request(
                    RequestError::INVALID_PARAMS,
                    format!("`{method}` needs a string `params.{member}`."),
                )
                .with_id(id));
            }
        },
    };
    Ok(Some(Operation {
        method,
        name,
        params,
        id,
    }))
}

/// JSON that refuses duplicate member names.
pub(super) struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

pub(super) struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON without duplicate member names")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(value) = map.next_value()?;
            if object.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate member `{key}`")));
            }
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}
