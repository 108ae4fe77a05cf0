//! MCP sessions bound to the caller that opened them. A session id
//! (`Mcp-Session-Id`, MCP 2025-06-18 and 2025-11-25) is not a credential:
//! every request is authorized by its own token. But a caller with a valid
//! token of its own and a *stolen* session id could otherwise read or drive
//! another caller's session (MCP security best practices, "Session
//! Hijacking": bind sessions to the principal). So when a protected response
//! opens a session, it is bound to the caller (issuer + subject, or client
//! when there is no subject); a later request naming that session from
//! another principal is answered 404 "Session not found" without reaching
//! the handler, the answer MCP clients take to mean "start a new session".
//!
//! The bindings are in memory, bounded and expire after a day without use;
//! a session this process did not see open (another replica, a restart) is
//! not bound, and the MCP server decides about it as before.

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use actix_web::http::{
    Method, StatusCode,
    header::{HeaderMap, HeaderName},
};

use crate::{AuthInfo, error::RequestError, keyed_hash::KeyedHash};

/// The MCP session header (MCP 2025-06-18 "Session Management").
pub(crate) const MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");

/// Sessions remembered at most (the oldest binding goes first beyond it).
const CAPACITY: usize = 100_000;

/// A binding unused this long is forgotten.
const IDLE: Duration = Duration::from_secs(24 * 3600);

/// Session → principal, per process.
#[derive(Debug)]
pub(crate) struct SessionBindings {
    capacity: usize,
    idle: Duration,
    hasher: KeyedHash,
    inner: Mutex<Bindings>,
    warned_full: AtomicBool,
}

#[derive(Debug, Default)]
struct Bindings {
    by_session: HashMap<u128, Binding>,
    /// Insertion order, for eviction at capacity; an entry whose serial no
    /// longer matches its binding is stale and skipped.
    order: VecDeque<(u128, u64)>,
    serial: u64,
}

#[derive(Debug)]
struct Binding {
    principal: u128,
    last_used: Instant,
    serial: u64,
}

impl Default for SessionBindings {
    fn default() -> Self {
        Self::new(CAPACITY, IDLE)
    }
}

impl SessionBindings {
    fn new(capacity: usize, idle: Duration) -> Self {
        Self {
            capacity,
            idle,
            hasher: KeyedHash::default(),
            inner: Mutex::new(Bindings::default()),
            warned_full: AtomicBool::new(false),
        }
    }

    fn key(&self, resource: &str, session: &[u8]) -> u128 {
        self.hasher.hash((resource, session))
    }

    /// Who a token speaks for: its issuer and subject, or its client when
    /// it has no subject; `None` when it names neither (or for an
    /// anonymous caller).
    fn principal(&self, auth: Option<&AuthInfo>) -> Option<u128> {
        let auth = auth?;
        match (auth.subject(), auth.client_id()) {
            (Some(sub), _) => Some(self.hasher.hash((auth.issuer(), "sub", sub))),
            (None, Some(client)) => Some(self.hasher.hash((auth.issuer(), "client", client))),
            (None, None) => None,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Bindings> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the caller (`None`: anonymous) may use the session `headers`
    /// name at `resource`: no session, a session not bound here, or one
    /// bound to the same principal.
    pub(crate) fn allows(
        &self,
        resource: &str,
        headers: &HeaderMap,
        auth: Option<&AuthInfo>,
    ) -> bool {
        let Some(session) = headers.get(MCP_SESSION_ID) else {
            return true;
        };
        self.allows_at(resource, session.as_bytes(), auth, Instant::now())
    }

    fn allows_at(
        &self,
        resource: &str,
        session: &[u8],
        auth: Option<&AuthInfo>,
        now: Instant,
    ) -> bool {
        let key = self.key(resource, session);
        let principal = self.principal(auth);
        let mut bindings = self.lock();
        match bindings.by_session.get_mut(&key) {
            Some(b) if now.saturating_duration_since(b.last_used) >= self.idle => {
                bindings.by_session.remove(&key);
                true
            }
            Some(b) if principal == Some(b.principal) => {
                b.last_used = now;
                true
            }
            Some(_) => false,
            None => true,
        }
    }

    /// After a protected response: binds a session the response opened to
    /// the caller, or forgets one a successful `DELETE` ended.
    pub(crate) fn after_response(
        &self,
        method: &Method,
        request: &HeaderMap,
        status: StatusCode,
        response: &HeaderMap,
        auth: &AuthInfo,
    ) {
        if !status.is_success() {
            return;
        }
        if method == Method::DELETE
            && let Some(session) = request.get(MCP_SESSION_ID)
        {
            let key = self.key(auth.resource(), session.as_bytes());
            self.lock().by_session.remove(&key);
            return;
        }
        if let Some(session) = response.get(MCP_SESSION_ID) {
            self.bind_at(session.as_bytes(), auth, Instant::now());
        }
    }

    fn bind_at(&self, session: &[u8], auth: &AuthInfo, now: Instant) {
        let Some(principal) = self.principal(Some(auth)) else {
            return;
        };
        let key = self.key(auth.resource(), session);
        let mut bindings = self.lock();
        if let Some(b) = bindings.by_session.get(&key)
            && now.saturating_duration_since(b.last_used) < self.idle
        {
            // Already bound (to this principal: another one was refused
            // before the handler ran).
            return;
        }
        while bindings.by_session.len() >= self.capacity {
            let Some((old, serial)) = bindings.order.pop_front() else {
                break;
            };
            if bindings
                .by_session
                .get(&old)
                .is_some_and(|b| b.serial == serial)
            {
                bindings.by_session.remove(&old);
                if !self.warned_full.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        capacity = self.capacity,
                        "MCP session bindings are full: the oldest are forgotten (those sessions are no longer bound to their caller)"
                    );
                }
            }
        }
        bindings.serial += 1;
        let serial = bindings.serial;
        bindings.order.push_back((key, serial));
        bindings.by_session.insert(
            key,
            Binding {
                principal,
                last_used: now,
                serial,
            },
        );
        // Stale order entries (removed or re-bound keys) are dropped as
        // they reach the front; keep the queue from outgrowing the map.
        if bindings.order.len() > 2 * self.capacity.max(1) {
            let Bindings {
                by_session, order, ..
            } = &mut *bindings;
            order.retain(|(k, s)| by_session.get(k).is_some_and(|b| b.serial == *s));
        }
    }
}

/// After a protected response to `req`: lets the caller's resource bind
/// or end the session (see [`SessionBindings::after_response`]).
pub(crate) fn after_response(
    req: &actix_web::HttpRequest,
    status: StatusCode,
    response: &HeaderMap,
) {
    if !status.is_success()
        || !(response.contains_key(MCP_SESSION_ID)
            || (req.method() == Method::DELETE && req.headers().contains_key(MCP_SESSION_ID)))
    {
        return;
    }
    let extensions = actix_web::HttpMessage::extensions(req);
    if let Some(auth) = extensions.get::<AuthInfo>()
        && let Some(sessions) = auth.sessions()
    {
        sessions.after_response(req.method(), req.headers(), status, response, auth);
    }
}

/// The answer to a request naming a session bound to another caller.
pub(crate) fn not_found() -> RequestError {
    RequestError::new(
        StatusCode::NOT_FOUND,
        RequestError::SESSION_NOT_FOUND,
        "Session not found",
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::{Value, json};

    use super::*;
    use crate::resource::ResourceContext;

    const R: &str = "https://api.example/mcp";

    fn auth(claims: Value) -> AuthInfo {
        AuthInfo::from_claims(
            "t".into(),
            claims.as_object().unwrap().clone(),
            "https://api.example/mcp",
            &Arc::new(ResourceContext::default()),
        )
    }

    #[test]
    fn a_session_is_bound_to_the_principal_that_opened_it() {
        let s = SessionBindings::default();
        let alice = auth(json!({"iss": "https://as", "sub": "alice", "client_id": "app"}));
        let alice_again = auth(json!({"iss": "https://as", "sub": "alice", "client_id": "other"}));
        let bob = auth(json!({"iss": "https://as", "sub": "bob", "client_id": "app"}));
        let alice_elsewhere = auth(json!({"iss": "https://other-as", "sub": "alice"}));
        let app_only = auth(json!({"iss": "https://as", "client_id": "app"}));
        let nobody = auth(json!({"iss": "https://as"}));
        let now = Instant::now();
        s.bind_at(b"s1", &alice, now);
        assert!(s.allows_at(R, b"s1", Some(&alice), now));
        assert!(
            s.allows_at(R, b"s1", Some(&alice_again), now),
            "same issuer and subject"
        );
        for other in [&bob, &alice_elsewhere, &app_only, &nobody] {
            assert!(!s.allows_at(R, b"s1", Some(other), now));
        }
        // Unknown sessions are the MCP server's business.
        assert!(s.allows_at(R, b"s2", Some(&bob), now));
        // Client-credentials callers are bound by client.
        s.bind_at(b"s3", &app_only, now);
        assert!(s.allows_at(R, b"s3", Some(&app_only), now));
        assert!(!s.allows_at(R, b"s3", Some(&alice), now));
        // A caller naming neither subject nor client binds nothing.
        s.bind_at(b"s4", &nobody, now);
        assert!(s.allows_at(R, b"s4", Some(&bob), now));
        // Rebinding keeps the first owner.
        s.bind_at(b"s1", &bob, now);
        assert!(!s.allows_at(R, b"s1", Some(&bob), now));
    }

    #[test]
    fn bindings_expire_when_idle_and_are_bounded() {
        let s = SessionBindings::new(3, Duration::from_secs(10));
        let alice = auth(json!({"iss": "https://as", "sub": "alice"}));
        let bob = auth(json!({"iss": "https://as", "sub": "bob"}));
        let t0 = Instant::now();
        s.bind_at(b"s1", &alice, t0);
        // Use keeps it alive.
        assert!(s.allows_at(R, b"s1", Some(&alice), t0 + Duration::from_secs(8)));
        assert!(!s.allows_at(R, b"s1", Some(&bob), t0 + Duration::from_secs(16)));
        // Idle past the limit: forgotten.
        assert!(s.allows_at(R, b"s1", Some(&bob), t0 + Duration::from_secs(30)));
        for (i, id) in [b"a", b"b", b"c", b"d"].iter().enumerate() {
            s.bind_at(*id, &alice, t0 + Duration::from_secs(31 + i as u64));
        }
        let now = t0 + Duration::from_secs(40);
        assert_eq!(s.lock().by_session.len(), 3);
        assert!(
            s.allows_at(R, b"a", Some(&bob), now),
            "the oldest was evicted"
        );
        for id in [b"b", b"c", b"d"] {
            assert!(!s.allows_at(R, id, Some(&bob), now));
        }
    }

    #[test]
    fn a_successful_delete_ends_the_binding() {
        let s = SessionBindings::default();
        let alice = auth(json!({"iss": "https://as", "sub": "alice"}));
        let bob = auth(json!({"iss": "https://as", "sub": "bob"}));
        let mut opened = HeaderMap::new();
        opened.insert(MCP_SESSION_ID, "s1".parse().unwrap());
        let none = HeaderMap::new();
        // A failed response opens nothing.
        s.after_response(
            &Method::POST,
            &none,
            StatusCode::BAD_REQUEST,
            &opened,
            &alice,
        );
        assert!(s.allows(R, &opened, Some(&bob)));
        s.after_response(&Method::POST, &none, StatusCode::OK, &opened, &alice);
        assert!(!s.allows(R, &opened, Some(&bob)));
        assert!(s.allows(R, &none, Some(&bob)), "no session header");
        // A failed DELETE keeps it; a successful one ends it.
        s.after_response(
            &Method::DELETE,
            &opened,
            StatusCode::NOT_FOUND,
            &none,
            &alice,
        );
        assert!(!s.allows(R, &opened, Some(&bob)));
        s.after_response(&Method::DELETE, &opened, StatusCode::OK, &none, &alice);
        assert!(s.allows(R, &opened, Some(&bob)));
    }
}
