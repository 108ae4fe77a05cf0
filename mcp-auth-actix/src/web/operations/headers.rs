//! MCP 2026-07-28 `Mcp-Method` / `Mcp-Name` headers: read, decoded, and
//! cross-checked against the body (`-32020` HeaderMismatch).

use super::*;

/// The method and name announced in the `Mcp-Method` and `Mcp-Name` headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeaderOperation {
    pub(super) method: String,
    pub(super) name: Option<String>,
}

impl HeaderOperation {
    /// Reads the headers: `None` when the client sent neither (clients of
    /// MCP versions before 2026-07-28).
    pub(crate) fn from_headers(headers: &header::HeaderMap) -> Result<Option<Self>, RequestError> {
        let method = single_header(headers, "mcp-method")?;
        let name = single_header(headers, "mcp-name")?;
        match (method, name) {
            (None, None) => Ok(None),
            (Some(method), name) => Ok(Some(Self {
                method,
                name: name.map(|n| decode_header_value(&n)).transpose()?,
            })),
            (None, Some(_)) => Err(mismatch("`Mcp-Name` was sent without `Mcp-Method`.")),
        }
    }

    pub(crate) fn as_operation(&self) -> Operation<'_> {
        Operation {
            method: &self.method,
            name: self.name.as_deref(),
            params: None,
            id: None,
        }
    }

    /// The body must be one request whose method and name are the headers'.
    pub(super) fn cross_check(&self, operations: &[Operation<'_>]) -> Result<(), RequestError> {
        let [op] = operations else {
            return Err(mismatch(
                "`Mcp-Method` names one request, but the body is not exactly one request.",
            ));
        };
        if op.method != self.method || op.name != self.name.as_deref() {
            return Err(mismatch(
                "The `Mcp-Method`/`Mcp-Name` headers do not match the request body.",
            )
            .with_id(op.id));
        }
        Ok(())
    }
}

pub(super) fn mismatch(message: &'static str) -> RequestError {
    RequestError::bad_request(RequestError::HEADER_MISMATCH, message)
}

pub(super) fn single_header(
    headers: &header::HeaderMap,
    name: &str,
) -> Result<Option<String>, RequestError> {
    let mut values = headers.get_all(name);
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(mismatch(
            "Send each of `Mcp-Method` and `Mcp-Name` at most once.",
        ));
    }
    value
        .to_str()
        .map(|v| Some(v.trim().to_owned()))
        .map_err(|_| mismatch("`Mcp-Method`/`Mcp-Name` must be visible ASCII."))
}

/// Values that are not plain ASCII travel as `=?base64?<standard base64>?=`.
pub(super) fn decode_header_value(value: &str) -> Result<String, RequestError> {
    let Some(encoded) = value.strip_prefix("=?base64?") else {
        return Ok(value.to_owned());
    };
    let encoded = encoded.strip_suffix("?=").unwrap_or(encoded);
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| mismatch("`Mcp-Name` has an invalid base64 value."))
}
