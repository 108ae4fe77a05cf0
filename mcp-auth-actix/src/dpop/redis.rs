//! [`RedisReplayStore`]: a DPoP replay store shared by every replica
//! (feature `redis`).

use std::time::Duration;

use futures_util::future::LocalBoxFuture;
use redis::{
    Value,
    aio::{ConnectionManager, ConnectionManagerConfig},
};

use super::replay::{ReplayError, ReplayStore};

/// A [`ReplayStore`] in Redis (or Valkey): one `SET key 1 NX PX <ttl>` per
/// proof, atomic across replicas. An unreachable server makes proofs fail
/// (503), never pass unchecked.
#[derive(Clone)]
pub struct RedisReplayStore {
    connection: ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for RedisReplayStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisReplayStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisReplayStore {
    /// The default key prefix.
    pub const DEFAULT_PREFIX: &'static str = "mcp-auth:dpop:";

    /// A store over an existing connection manager (configure its
    /// timeouts: a request waits for the answer).
    pub fn new(connection: ConnectionManager) -> Self {
        Self {
            connection,
            prefix: Self::DEFAULT_PREFIX.to_owned(),
        }
    }

    /// Connects to `url` (`redis://…`, `rediss://…` with a TLS feature of
    /// the `redis` crate) with 1 s connection and response timeouts and
    /// reconnection in the background (requests fail, 503, meanwhile).
    pub async fn connect(url: &str) -> Result<Self, ReplayError> {
        let client = redis::Client::open(url)
            .map_err(|err| ReplayError::new(format!("invalid Redis URL ({:?})", err.kind())))?;
        // Bounded waits: a request never hangs on Redis for long, and an
        // unreachable server is reported after a few quick attempts.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(1)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let connection = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(|err| ReplayError::new(format!("Redis connection failed: {err}")))?;
        Ok(Self::new(connection))
    }

    /// Sets the key prefix (default [`DEFAULT_PREFIX`](Self::DEFAULT_PREFIX)),
    /// e.g. to separate deployments sharing one server.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }
}

impl ReplayStore for RedisReplayStore {
    fn check_and_store(
        &self,
        key: &str,
        ttl: Duration,
    ) -> LocalBoxFuture<'_, Result<bool, ReplayError>> {
        // A clone of the manager shares its connection: no lock is held.
        let mut connection = self.connection.clone();
        let key = format!("{}{key}", self.prefix);
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        Box::pin(async move {
            let reply: Value = redis::cmd("SET")
                .arg(&key)
                .arg(1)
                .arg("NX")
                .arg("PX")
                .arg(millis)
                .query_async(&mut connection)
                .await
                .map_err(|err| ReplayError::new(format!("Redis SET failed: {err}")))?;
            match reply {
                Value::Okay => Ok(true),
                Value::SimpleString(ok) if ok == "OK" => Ok(true),
                Value::Nil => Ok(false),
                _ => Err(ReplayError::new("unexpected Redis reply to SET NX")),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs against a real server when `MCP_AUTH_TEST_REDIS` names one
    /// (e.g. `redis://127.0.0.1:6379`); otherwise says why it skipped.
    #[actix_rt::test]
    async fn set_nx_px_against_a_server() {
        let Ok(url) = std::env::var("MCP_AUTH_TEST_REDIS") else {
            eprintln!("skipped: set MCP_AUTH_TEST_REDIS=redis://host:port to run it");
            return;
        };
        let unique = format!("test:{}:{}:", std::process::id(), crate::verify::now_secs());
        let store = RedisReplayStore::connect(&url)
            .await
            .expect("connect")
            .prefix(unique);
        let ttl = Duration::from_secs(2);
        assert_eq!(store.check_and_store("k", ttl).await, Ok(true));
        assert_eq!(store.check_and_store("k", ttl).await, Ok(false));
        assert_eq!(store.check_and_store("other", ttl).await, Ok(true));
        actix_rt::time::sleep(Duration::from_millis(2100)).await;
        assert_eq!(store.check_and_store("k", ttl).await, Ok(true), "expired");
        // Concurrent first use: one winner.
        let answers =
            futures_util::future::join_all((0..8).map(|_| store.check_and_store("race", ttl)))
                .await;
        assert_eq!(answers.iter().filter(|a| **a == Ok(true)).count(), 1);
    }

    #[actix_rt::test]
    async fn an_unreachable_server_is_an_error() {
        // Port 1 on loopback: nothing listens there.
        let result = RedisReplayStore::connect("redis://127.0.0.1:1").await;
        assert!(result.is_err());
        assert!(RedisReplayStore::connect("not a url").await.is_err());
    }
}
