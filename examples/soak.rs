//! Soak test of the key store (run by `benches/soak.sh` and `.ci/run`; not a
//! user example): under load, while keys rotate and the JWKS endpoint
//! misbehaves, the protected route must never make a wrong decision.
//!
//! One process, all traffic on 127.0.0.1:
//!
//! * a [`TestIssuer`] whose JWKS carries `Cache-Control: max-age=1`;
//! * a server (2 workers) with one resource behind `BearerAuth`, discovered
//!   from the issuer, with a 1 s deadline on outgoing requests and a key
//!   refresh policy of `default_max_age` 2 s, `min_max_age` 0 (the store
//!   refetches the JWKS about every second under load);
//! * a load generator: `CONNECTIONS` (default 32) awc loops on this thread
//!   sending a mix of tokens (see [`Kind`]) for `DURATION` seconds (default 60);
//! * a chaos task that, in turn, rotates the key of one algorithm and opens
//!   two JWKS fault windows (a body that stalls after the headers, an empty
//!   key set, HTTP 500, no answer at all, a body that is not JSON).
//!
//! # The oracle
//!
//! Expired, wrong-audience, unknown-`kid` and bad-signature tokens must always
//! get 401 `invalid_token`. Well-formed tokens (`valid`, `retired`) are judged
//! by the *trust timeline* of their signing key: each key is `Trusted`,
//! `Untrusted` or `Changing` over time, and a request sent at `s` and answered
//! at `r` must get 200 if the key was `Trusted` over all of `[s, r]`, 401 if it
//! was `Untrusted` over all of it, and may get either otherwise.
//!
//! A change (key published, key retired, empty key set served, keys
//! republished) is recorded as `Changing` *before* the issuer makes it, and
//! becomes `Trusted`/`Untrusted` only once the store must have learned it:
//! the store fetches the JWKS one fetch at a time (single-flight), so once the
//! issuer has counted two JWKS requests after the change, the first of them
//! read the changed state and finished before the second began; as the
//! endpoint answered normally, that fetch succeeded. This is the grace the
//! README promises for a retired key: its tokens (cached ones included) are
//! refused after the first successful refresh that no longer lists it. New
//! keys are only used for `valid` tokens once learned, as a real issuer
//! publishes a key before signing with it.
//!
//! Failure windows (500, stall, hang, garbage) change nothing in the timeline:
//! a failed fetch keeps the last good keys, so valid tokens must still get
//! 200. An empty key set is not a failure but a well-formed JWKS publishing no
//! key: every key is withdrawn (`Untrusted` once learned) and then
//! republished.
//!
//! 503 is documented only when a token needs a key the store does not hold
//! while the JWKS cannot be fetched. The soak never creates that case: before
//! breaking the endpoint it stops sending tokens the store would fetch for
//! (unknown `kid`, retired keys) and waits until none is in flight, and resumes
//! them once the repaired JWKS has been learned. Every token sent during a
//! failure window is thus served from keys the store holds, and any 5xx is a
//! failure.
//!
//! # Checks
//!
//! No wrong decision; no 5xx; every request answered within 10 s; every change
//! learned within 20 s (the store keeps refreshing); RSS after warm-up grows by
//! less than 16 MiB; JWKS fetches within what the refresh policy allows; the
//! plan ran (at least one rotation and one fault window, every kind of token
//! sent). The last line is `N passed, M failed`; the exit status is 1 on any
//! failure.
//!
//! Open file descriptors are reported, not checked: they grow by about two
//! per hang or stall window because the test issuer's handler never notices
//! that the store gave up (its side of the socket stays in CLOSE-WAIT); the
//! store's side is closed. Without chaos they stay flat.

use std::{
    cell::{Cell, RefCell},
    collections::{BTreeMap, HashMap, VecDeque},
    net::TcpListener,
    rc::Rc,
    sync::Arc,
    time::{Duration, Instant},
};

use actix_web::{App, HttpResponse, HttpServer, http::header, rt, web};
use jsonwebtoken::Algorithm;
use mcp_auth::{
    HttpOptions, JwtOptions, McpAuth, ResourceConfig,
    auth_server::FetchOptions,
    testing::{Endpoint, JwksMode, TestIssuer},
    verify::KeyRefreshPolicy,
};

/// `Cache-Control: max-age` of the issuer's JWKS, in seconds.
const JWKS_MAX_AGE: u64 = 1;
/// Freshness of a JWKS without `max-age` (the issuer always sends one).
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(2);
/// Refreshes for unknown `kid`s: a burst, then one per refill interval (the
/// library's defaults, set explicitly because the fetch bound uses them).
const UNKNOWN_KID_BURST: u32 = 3;
const UNKNOWN_KID_REFILL: Duration = Duration::from_secs(10);
/// Deadline of the store's outgoing requests (discovery, JWKS).
const HTTP_TIMEOUT: Duration = Duration::from_secs(1);
/// A request not answered within this is counted as unanswered.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a failure window lasts (the store backs off 2 s after a failed
/// fetch, so this sees at least two fetch attempts fail).
const FAULT_WINDOW: Duration = Duration::from_secs(4);
/// How long the empty key set is served once the store has learned it.
const EMPTY_HOLD: Duration = Duration::from_secs(2);
/// Plain load after each chaos step.
const PAUSE: Duration = Duration::from_millis(500);
/// A change not learned within this means the store stopped refreshing.
const LEARN_TIMEOUT: Duration = Duration::from_secs(20);
/// Tokens minted per key: kept small, since the issuer remembers every token
/// it signs (for introspection) and that memory would count as growth.
const VALID_PER_KEY: usize = 8;
const BAD_PER_KEY: usize = 2;
/// Retired keys whose tokens are still sent.
const RETIRED_KEPT: usize = 4;
/// Allowed RSS growth between the end of warm-up and the end of the run.
const RSS_GROWTH_LIMIT_MIB: f64 = 16.0;
/// Examples printed per kind of failure.
const EXAMPLES: usize = 10;

/// Algorithms of the issuer's keys; rotations go through them in turn.
const ALGORITHMS: [Algorithm; 4] = [
    Algorithm::RS256,
    Algorithm::ES256,
    Algorithm::PS256,
    Algorithm::EdDSA,
];

/// What the load generator sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Good claims, signed by the current key of an algorithm.
    Valid,
    /// A `valid` token of one of the last retired keys (used, and cached by
    /// the server, while its key was current).
    Retired,
    /// `exp` two minutes ago (the leeway is 30 s).
    Expired,
    /// `aud` names another resource.
    WrongAudience,
    /// Signed by a current key, but the header's `kid` names no published key.
    UnknownKid,
    /// Header and payload of one valid token, signature of another (same key).
    BadSignature,
}

impl Kind {
    const ALL: [Kind; 6] = [
        Kind::Valid,
        Kind::Retired,
        Kind::Expired,
        Kind::WrongAudience,
        Kind::UnknownKid,
        Kind::BadSignature,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::Valid => "valid",
            Kind::Retired => "retired key",
            Kind::Expired => "expired",
            Kind::WrongAudience => "wrong audience",
            Kind::UnknownKid => "unknown kid",
            Kind::BadSignature => "bad signature",
        }
    }

    /// Share of the traffic, in percent.
    fn weight(self) -> u64 {
        match self {
            Kind::Valid => 40,
            Kind::Retired | Kind::UnknownKid => 15,
            Kind::Expired | Kind::WrongAudience | Kind::BadSignature => 10,
        }
    }

    /// Whether the store may have to fetch the JWKS to answer (the token
    /// names a `kid` it does not hold): not sent during failure windows.
    fn may_fetch(self) -> bool {
        matches!(self, Kind::Retired | Kind::UnknownKid)
    }
}

/// The tokens sent for one signing key.
struct KeyTokens {
    kid: String,
    valid: Vec<Arc<str>>,
    expired: Vec<Arc<str>>,
    wrong_audience: Vec<Arc<str>>,
    unknown_kid: Vec<Arc<str>>,
    bad_signature: Vec<Arc<str>>,
}

impl KeyTokens {
    /// Mints the tokens of `kid` (blocking: RSA signing is slow in debug builds).
    fn mint(issuer: &TestIssuer, resource: &str, other_resource: &str, kid: &str) -> Self {
        const DAY: i64 = 24 * 3600;
        let token = |aud: &str, expires_in: i64| {
            issuer
                .token_builder(aud)
                .key(kid)
                .scopes(&["mcp:read"])
                .expires_in(expires_in)
        };
        let many = |n: usize, f: &dyn Fn(usize) -> String| (0..n).map(|i| f(i).into()).collect();
        let valid: Vec<Arc<str>> = many(VALID_PER_KEY, &|_| token(resource, DAY).sign());
        let bad_signature = many(BAD_PER_KEY, &|i| {
            let (message, _) = valid[i].rsplit_once('.').expect("a JWS");
            let (_, signature) = valid[i + 1].rsplit_once('.').expect("a JWS");
            format!("{message}.{signature}")
        });
        Self {
            kid: kid.to_owned(),
            expired: many(BAD_PER_KEY, &|_| token(resource, -120).sign()),
            wrong_audience: many(BAD_PER_KEY, &|_| token(other_resource, DAY).sign()),
            unknown_kid: many(BAD_PER_KEY, &|i| {
                token(resource, DAY)
                    .header("kid", format!("unknown-{kid}-{i}"))
                    .sign()
            }),
            bad_signature,
            valid,
        }
    }

    fn of(&self, kind: Kind) -> &[Arc<str>] {
        match kind {
            Kind::Valid | Kind::Retired => &self.valid,
            Kind::Expired => &self.expired,
            Kind::WrongAudience => &self.wrong_audience,
            Kind::UnknownKid => &self.unknown_kid,
            Kind::BadSignature => &self.bad_signature,
        }
    }
}

/// Whether the store must accept a well-formed token signed by a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trust {
    Trusted,
    Untrusted,
    /// Between a change and the moment the store must have learned it.
    Changing,
}

/// What the answer to one request must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Accept,
    Refuse,
    Either,
}

/// The trust history of every key, in time order.
#[derive(Default)]
struct Timeline(HashMap<String, Vec<(Instant, Trust)>>);

impl Timeline {
    fn set(&mut self, kid: &str, at: Instant, trust: Trust) {
        self.0.entry(kid.to_owned()).or_default().push((at, trust));
    }

    /// The answer due to a well-formed token signed by `kid`, sent at `sent`
    /// and answered at `answered`.
    fn expect(&self, kid: &str, sent: Instant, answered: Instant) -> Expect {
        let Some(changes) = self.0.get(kid) else {
            return Expect::Refuse;
        };
        // Trust when the request was sent (a key is untrusted before it exists)...
        let mut trust = Trust::Untrusted;
        let mut changed = false;
        for &(at, t) in changes {
            if at <= sent {
                trust = t;
            } else if at <= answered {
                // ...and any change while it was under way.
                changed |= t != trust;
            }
        }
        match (changed, trust) {
            (true, _) | (_, Trust::Changing) => Expect::Either,
            (false, Trust::Trusted) => Expect::Accept,
            (false, Trust::Untrusted) => Expect::Refuse,
        }
    }

    /// The key's history relative to `start`, for failure reports.
    fn describe(&self, kid: &str, start: Instant) -> String {
        self.0.get(kid).map_or_else(
            || "never published".into(),
            |changes| {
                changes
                    .iter()
                    .map(|(at, t)| format!("{t:?}@{:.2}s", secs(*at - start)))
                    .collect::<Vec<_>>()
                    .join(" ")
            },
        )
    }
}

/// Latencies in buckets of a quarter power of two (about ±10 %).
struct Histogram([u64; 128]);

impl Default for Histogram {
    fn default() -> Self {
        Self([0; 128])
    }
}

impl Histogram {
    fn add(&mut self, d: Duration) {
        let micros = d.as_micros().max(1) as f64;
        let bucket = (micros.log2() * 4.0) as usize;
        self.0[bucket.min(127)] += 1;
    }

    /// Upper bound of the bucket holding quantile `q`, in ms.
    fn quantile_ms(&self, q: f64) -> f64 {
        let total: u64 = self.0.iter().sum();
        let target = (total as f64 * q).ceil() as u64;
        let mut seen = 0;
        for (i, n) in self.0.iter().enumerate() {
            seen += n;
            if seen >= target.max(1) {
                return 2f64.powf((i + 1) as f64 / 4.0) / 1000.0;
            }
        }
        0.0
    }
}

#[derive(Default)]
struct KindStats {
    sent: u64,
    /// 200.
    accepted: u64,
    /// 401 `invalid_token`.
    refused: u64,
    /// Answered during a change, where 200 and 401 are both right.
    either: u64,
    wrong: u64,
    server_errors: u64,
    unanswered: u64,
    latency: Histogram,
    max_latency: Duration,
}

#[derive(Default)]
struct Stats {
    kinds: [KindStats; 6],
    wrong: Vec<String>,
    server_errors: Vec<String>,
    unanswered: Vec<String>,
}

/// How a request ended.
enum Answer {
    Status {
        status: u16,
        challenge: String,
        body: String,
    },
    Failed(String),
}

/// What the chaos task did.
#[derive(Default)]
struct ChaosLog {
    rotations: usize,
    faults: BTreeMap<&'static str, usize>,
    /// Changes the store did not learn within [`LEARN_TIMEOUT`].
    stalls: Vec<String>,
}

#[derive(Clone, Copy)]
enum Fault {
    Status500,
    Stall,
    Empty,
    Hang,
    Garbage,
}

impl Fault {
    /// In order (all five run within a 60 s soak on an idle machine).
    const ALL: [Fault; 5] = [
        Fault::Stall,
        Fault::Empty,
        Fault::Status500,
        Fault::Hang,
        Fault::Garbage,
    ];

    fn name(self) -> &'static str {
        match self {
            Fault::Status500 => "500",
            Fault::Stall => "stall after headers",
            Fault::Empty => "empty key set",
            Fault::Hang => "hang",
            Fault::Garbage => "garbage",
        }
    }

    fn mode(self) -> JwksMode {
        match self {
            Fault::Status500 => JwksMode::Fail(500),
            Fault::Stall => JwksMode::Stall,
            Fault::Empty => JwksMode::Empty,
            Fault::Hang => JwksMode::Hang,
            Fault::Garbage => JwksMode::Garbage,
        }
    }
}

/// Everything the tasks share; they all run on this thread.
struct Soak {
    start: Instant,
    issuer: Arc<TestIssuer>,
    resource: String,
    other_resource: String,
    timeline: RefCell<Timeline>,
    /// Tokens of the current key of each algorithm.
    current: RefCell<Vec<(Algorithm, Arc<KeyTokens>)>>,
    /// Tokens of the last retired keys, newest first.
    retired: RefCell<VecDeque<Arc<KeyTokens>>>,
    /// Set during failure windows: no token the store would fetch for.
    quiet: Cell<bool>,
    /// Requests in flight whose answer may need a JWKS fetch.
    fetching_requests: Cell<usize>,
    stopping: Cell<bool>,
    stats: RefCell<Stats>,
    chaos: RefCell<ChaosLog>,
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// A small xorshift generator (no dependency needed for picking tokens).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

impl Soak {
    fn log(&self, message: impl AsRef<str>) {
        println!(
            "[{:7.2} s] {}",
            secs(self.start.elapsed()),
            message.as_ref()
        );
    }

    async fn mint(&self, kid: &str) -> Arc<KeyTokens> {
        let (issuer, kid) = (self.issuer.clone(), kid.to_owned());
        let (resource, other) = (self.resource.clone(), self.other_resource.clone());
        let tokens =
            rt::task::spawn_blocking(move || KeyTokens::mint(&issuer, &resource, &other, &kid));
        Arc::new(tokens.await.expect("minting tokens"))
    }

    /// Picks what to send next.
    fn pick(&self, rng: &mut Rng) -> (Kind, Arc<KeyTokens>, Arc<str>) {
        let mut roll = rng.next() % 100;
        let mut kind = Kind::Valid;
        for k in Kind::ALL {
            if roll < k.weight() {
                kind = k;
                break;
            }
            roll -= k.weight();
        }
        if kind.may_fetch() && self.quiet.get() {
            kind = Kind::Valid;
        }
        let retired = self.retired.borrow();
        if kind == Kind::Retired && retired.is_empty() {
            kind = Kind::Valid;
        }
        let keys = if kind == Kind::Retired {
            retired[rng.below(retired.len())].clone()
        } else {
            let current = self.current.borrow();
            current[rng.below(current.len())].1.clone()
        };
        let tokens = keys.of(kind);
        let token = tokens[rng.below(tokens.len())].clone();
        (kind, keys, token)
    }

    /// Records one answer and checks it against the oracle.
    fn judge(&self, kind: Kind, kid: &str, sent: Instant, answered: Instant, answer: Answer) {
        let expect = match kind {
            Kind::Valid | Kind::Retired => self.timeline.borrow().expect(kid, sent, answered),
            _ => Expect::Refuse,
        };
        let mut stats = self.stats.borrow_mut();
        let stats = &mut *stats;
        // `Kind` is declared in the order of `Kind::ALL`.
        let s = &mut stats.kinds[kind as usize];
        let latency = answered - sent;
        s.sent += 1;
        s.latency.add(latency);
        s.max_latency = s.max_latency.max(latency);
        if expect == Expect::Either {
            s.either += 1;
        }
        let report = |what: &str, detail: &str| {
            format!(
                "t={:.3}s (+{:.3}s) {} kid={kid}: {what}; {detail}; key history: {}",
                secs(sent - self.start),
                secs(latency),
                kind.name(),
                self.timeline.borrow().describe(kid, self.start),
            )
        };
        let push = |list: &mut Vec<String>, what: &str, detail: &str| {
            if list.len() < EXAMPLES {
                list.push(report(what, detail));
            }
        };
        match answer {
            Answer::Failed(error) => {
                s.unanswered += 1;
                push(&mut stats.unanswered, "no answer", &error);
            }
            Answer::Status { status: 200, .. } => {
                s.accepted += 1;
                if expect == Expect::Refuse {
                    s.wrong += 1;
                    push(&mut stats.wrong, "ACCEPTED a bad token", "status 200");
                }
            }
            Answer::Status {
                status: 401,
                challenge,
                body,
            } => {
                s.refused += 1;
                let detail = if challenge.is_empty() {
                    format!("status 401 without WWW-Authenticate; body: {body}")
                } else {
                    format!("status 401, WWW-Authenticate: {challenge}")
                };
                if !challenge.contains("error=\"invalid_token\"") {
                    s.wrong += 1;
                    push(&mut stats.wrong, "401 without invalid_token", &detail);
                } else if expect == Expect::Accept {
                    s.wrong += 1;
                    push(&mut stats.wrong, "REFUSED a valid token", &detail);
                }
            }
            Answer::Status { status, body, .. } if status >= 500 => {
                s.server_errors += 1;
                push(
                    &mut stats.server_errors,
                    &format!("status {status}"),
                    &format!("expected {expect:?}; body: {body}"),
                );
            }
            Answer::Status { status, body, .. } => {
                s.wrong += 1;
                push(
                    &mut stats.wrong,
                    &format!("unexpected status {status}"),
                    &format!("expected {expect:?}; body: {body}"),
                );
            }
        }
    }

    /// One connection's worth of load until `until`.
    async fn load(self: Rc<Self>, client: awc::Client, url: String, seed: u64, until: Instant) {
        let mut rng = Rng(seed | 1);
        while Instant::now() < until {
            let (kind, keys, token) = self.pick(&mut rng);
            if kind.may_fetch() {
                self.fetching_requests.set(self.fetching_requests.get() + 1);
            }
            let sent = Instant::now();
            let answer = match client
                .get(&url)
                .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
                .send()
                .await
            {
                Ok(mut res) => {
                    let challenge = res
                        .headers()
                        .get(header::WWW_AUTHENTICATE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned();
                    let body = res.body().await.unwrap_or_default();
                    Answer::Status {
                        status: res.status().as_u16(),
                        challenge,
                        body: String::from_utf8_lossy(&body).chars().take(300).collect(),
                    }
                }
                Err(e) => Answer::Failed(e.to_string()),
            };
            let answered = Instant::now();
            if kind.may_fetch() {
                self.fetching_requests.set(self.fetching_requests.get() - 1);
            }
            self.judge(kind, &keys.kid, sent, answered, answer);
        }
    }

    /// Sleeps `d`, or less if the run ends.
    async fn hold(&self, d: Duration) {
        let until = Instant::now() + d;
        while Instant::now() < until && !self.stopping.get() {
            rt::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the store must have learned a change made just before the
    /// call: two more JWKS requests (see the module docs). `None` if the run
    /// ends first, or if the store stops fetching (recorded as a stall).
    async fn learned(&self, what: &str) -> Option<Instant> {
        let before = self.issuer.requests(Endpoint::Jwks);
        let began = Instant::now();
        loop {
            if self.issuer.requests(Endpoint::Jwks) >= before + 2 {
                self.log(format!(
                    "  learned: {what} ({:.1} s)",
                    secs(began.elapsed())
                ));
                return Some(Instant::now());
            }
            if self.stopping.get() {
                return None;
            }
            if began.elapsed() > LEARN_TIMEOUT {
                let stall = format!(
                    "{what}: the store made {} JWKS requests in {} s (t={:.1}s)",
                    self.issuer.requests(Endpoint::Jwks) - before,
                    LEARN_TIMEOUT.as_secs(),
                    secs(began - self.start),
                );
                self.log(format!("  STALL: {stall}"));
                self.chaos.borrow_mut().stalls.push(stall);
                return None;
            }
            rt::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Publishes a new key for `alg`, signs with it once learned, then
    /// retires the old one. `false` if the run ended or the store stalled.
    async fn rotate(&self, alg: Algorithm) -> bool {
        let old = self
            .current
            .borrow()
            .iter()
            .find(|(a, _)| *a == alg)
            .map(|(_, t)| t.clone())
            .expect("a current key per algorithm");
        let published = Instant::now();
        let issuer = self.issuer.clone();
        let kid = rt::task::spawn_blocking(move || issuer.add_key(alg))
            .await
            .expect("key generation");
        // Recorded from before the key existed; no token uses it yet anyway.
        self.timeline
            .borrow_mut()
            .set(&kid, published, Trust::Changing);
        self.log(format!("rotate {alg:?}: published {kid}"));
        let Some(at) = self.learned(&format!("{kid} published")).await else {
            return false;
        };
        self.timeline.borrow_mut().set(&kid, at, Trust::Trusted);
        let tokens = self.mint(&kid).await;
        for (a, current) in self.current.borrow_mut().iter_mut() {
            if *a == alg {
                *current = tokens.clone();
            }
        }
        self.log(format!("rotate {alg:?}: signing with {kid}"));
        // Let the new key's tokens be used (and cached) before the old key goes.
        self.hold(Duration::from_secs(1)).await;

        // Retire the old key; its tokens (sent, and cached, while it was
        // current) go on being sent as `retired`.
        self.timeline
            .borrow_mut()
            .set(&old.kid, Instant::now(), Trust::Changing);
        self.issuer.retire_key(&old.kid);
        {
            let mut retired = self.retired.borrow_mut();
            retired.push_front(old.clone());
            retired.truncate(RETIRED_KEPT);
        }
        self.log(format!("rotate {alg:?}: retired {}", old.kid));
        let Some(at) = self.learned(&format!("{} retired", old.kid)).await else {
            return false;
        };
        self.timeline
            .borrow_mut()
            .set(&old.kid, at, Trust::Untrusted);
        self.chaos.borrow_mut().rotations += 1;
        true
    }

    /// One fault window. `false` if the run ended or the store stalled.
    async fn fault(&self, fault: Fault) -> bool {
        let done = match fault {
            Fault::Empty => self.empty_key_set().await,
            _ => self.failure(fault).await,
        };
        if done {
            *self
                .chaos
                .borrow_mut()
                .faults
                .entry(fault.name())
                .or_default() += 1;
        }
        done
    }

    /// The JWKS fails for [`FAULT_WINDOW`]: the store must keep its keys.
    async fn failure(&self, fault: Fault) -> bool {
        // No token that needs a fetch from now on, none in flight when the
        // endpoint breaks (see the module docs on 503).
        self.quiet.set(true);
        let began = Instant::now();
        while self.fetching_requests.get() > 0 && began.elapsed() < CLIENT_TIMEOUT {
            rt::time::sleep(Duration::from_millis(5)).await;
        }
        self.log(format!("fault {}: JWKS broken", fault.name()));
        self.issuer.set_jwks_mode(fault.mode());
        self.hold(FAULT_WINDOW).await;
        self.issuer.set_jwks_mode(JwksMode::Normal);
        self.log(format!("fault {}: JWKS repaired", fault.name()));
        let learned = self.learned("repaired JWKS").await.is_some();
        self.quiet.set(false);
        learned
    }

    /// The JWKS publishes no key for a while: every key is withdrawn, then
    /// republished.
    async fn empty_key_set(&self) -> bool {
        let kids: Vec<String> = self
            .current
            .borrow()
            .iter()
            .map(|(_, t)| t.kid.clone())
            .collect();
        let mark = |trust: Trust, at: Instant| {
            let mut timeline = self.timeline.borrow_mut();
            kids.iter().for_each(|kid| timeline.set(kid, at, trust));
        };
        mark(Trust::Changing, Instant::now());
        self.issuer.set_jwks_mode(JwksMode::Empty);
        self.log("fault empty key set: JWKS publishes no key");
        let withdrawn = self.learned("empty key set").await;
        if let Some(at) = withdrawn {
            mark(Trust::Untrusted, at);
            self.hold(EMPTY_HOLD).await;
        }
        mark(Trust::Changing, Instant::now());
        self.issuer.set_jwks_mode(JwksMode::Normal);
        self.log("fault empty key set: keys republished");
        let Some(at) = self.learned("keys republished").await else {
            return false;
        };
        mark(Trust::Trusted, at);
        withdrawn.is_some()
    }

    /// A rotation then two fault windows, with a pause after each step, over
    /// and over (rotations go through the algorithms, faults through
    /// [`Fault::ALL`]). Stops when the run ends or the store stalls.
    async fn chaos(self: Rc<Self>) {
        let mut faults = Fault::ALL.iter().cycle();
        for alg in ALGORITHMS.iter().cycle() {
            let steps_done = !self.stopping.get()
                && self.rotate(*alg).await
                && self.pause().await
                && self.fault(*faults.next().expect("cycle")).await
                && self.pause().await
                && self.fault(*faults.next().expect("cycle")).await
                && self.pause().await;
            if !steps_done {
                return;
            }
        }
    }

    /// Plain load for [`PAUSE`]; `false` once the run is over.
    async fn pause(&self) -> bool {
        self.hold(PAUSE).await;
        !self.stopping.get()
    }
}

/// Open file descriptors of this process (sockets included).
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// Resident set size of this process, in MiB.
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn protected() -> HttpResponse {
    HttpResponse::Ok().body("ok")
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let duration = Duration::from_secs_f64(env_or("DURATION", 60.0));
    let connections: usize = env_or("CONNECTIONS", 32);
    let warmup = (duration / 4).clamp(Duration::from_secs(5), Duration::from_secs(30));
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };

    let issuer = Arc::new(TestIssuer::start().await);
    issuer.set_jwks_max_age(Some(JWKS_MAX_AGE));
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let resource = format!("http://{addr}/mcp");

    let policy = KeyRefreshPolicy::default()
        .default_max_age(DEFAULT_MAX_AGE)
        .max_age_bounds(Duration::ZERO, Duration::from_secs(24 * 3600))
        .unknown_kid_budget(UNKNOWN_KID_BURST, UNKNOWN_KID_REFILL);
    let server_config = issuer
        .discovery_config()
        .fetch_options(FetchOptions::default().http(HttpOptions::default().timeout(HTTP_TIMEOUT)));
    let auth = McpAuth::builder()
        .without_declared_resources()
        .show_error_details(true)
        .jwt_options(JwtOptions::default().key_refresh(policy.clone()))
        .resource(ResourceConfig::new(&resource).authorization_server(server_config))
        .build()
        .map_err(std::io::Error::other)?;
    let guard = auth.bearer_auth(&resource).map_err(std::io::Error::other)?;
    let server = HttpServer::new(move || {
        App::new().app_data(auth.clone()).service(
            web::resource("/mcp")
                .wrap(guard.clone())
                .route(web::get().to(protected)),
        )
    })
    .workers(2)
    .disable_signals()
    .listen(listener)?
    .run();
    rt::spawn(server);

    let soak = Rc::new(Soak {
        start: Instant::now(),
        issuer: issuer.clone(),
        other_resource: format!("http://{addr}/other"),
        resource: resource.clone(),
        timeline: RefCell::default(),
        current: RefCell::default(),
        retired: RefCell::default(),
        quiet: Cell::new(false),
        fetching_requests: Cell::new(0),
        stopping: Cell::new(false),
        stats: RefCell::default(),
        chaos: RefCell::default(),
    });
    println!(
        "soak: {:.0} s, {connections} connections, {profile} build, {} cores; JWKS max-age {JWKS_MAX_AGE} s, \
         key refresh default {:?} min {:?}, HTTP timeout {:?}, fault windows {:?}",
        secs(duration),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        DEFAULT_MAX_AGE,
        Duration::ZERO,
        HTTP_TIMEOUT,
        FAULT_WINDOW,
    );

    // The initial keys, and one accepted token each before the load starts.
    let client = awc::Client::builder().timeout(CLIENT_TIMEOUT).finish();
    for alg in ALGORITHMS {
        let kid = issuer.current_kid(alg).expect("an initial key");
        let tokens = soak.mint(&kid).await;
        let status = client
            .get(&resource)
            .insert_header((header::AUTHORIZATION, format!("Bearer {}", tokens.valid[0])))
            .send()
            .await
            .map(|r| r.status().as_u16());
        if status.as_ref().ok() != Some(&200) {
            eprintln!("warm-up: a valid {alg:?} token got {status:?}, not 200");
            std::process::exit(1);
        }
        soak.current.borrow_mut().push((alg, tokens));
    }
    let trusted = Instant::now();
    for (_, tokens) in soak.current.borrow().iter() {
        soak.timeline
            .borrow_mut()
            .set(&tokens.kid, trusted, Trust::Trusted);
    }

    // RSS every second, progress every 10 s.
    let sampler = rt::spawn({
        let soak = soak.clone();
        async move {
            let mut samples = Vec::new();
            let mut tick = rt::time::interval(Duration::from_secs(1));
            while !soak.stopping.get() {
                tick.tick().await;
                let t = soak.start.elapsed();
                samples.push((t, rss_mib(), open_fds()));
                if samples.len() % 10 == 0 {
                    let sent: u64 = soak.stats.borrow().kinds.iter().map(|k| k.sent).sum();
                    soak.log(format!(
                        "progress: {sent} requests ({:.0}/s), {} JWKS fetches, RSS {:.1} MiB, {} open fds",
                        sent as f64 / secs(t),
                        soak.issuer.requests(Endpoint::Jwks),
                        rss_mib(),
                        open_fds(),
                    ));
                }
            }
            samples
        }
    });
    let until = Instant::now() + duration;
    let chaos = rt::spawn(soak.clone().chaos());
    let loads: Vec<_> = (0..connections)
        .map(|i| {
            let seed = (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
                ^ soak.start.elapsed().as_nanos() as u64;
            rt::spawn(
                soak.clone()
                    .load(client.clone(), resource.clone(), seed, until),
            )
        })
        .collect();
    for load in loads {
        load.await.expect("load task");
    }
    soak.stopping.set(true);
    chaos.await.expect("chaos task");
    let samples = sampler.await.expect("sampler task");
    let elapsed = soak.start.elapsed();
    let jwks_fetches = issuer.requests(Endpoint::Jwks);
    let discovery_fetches = issuer.requests(Endpoint::OAuthMetadata);

    // ---- summary
    let stats = soak.stats.borrow();
    let chaos = soak.chaos.borrow();
    println!();
    println!(
        "{:<15} {:>9} {:>9} {:>9} {:>9} {:>6} {:>5} {:>9} {:>8} {:>8}",
        "kind", "sent", "200", "401", "either", "wrong", "5xx", "no answer", "p99 ms", "max ms"
    );
    let mut total = KindStats::default();
    for kind in Kind::ALL {
        let s = &stats.kinds[kind as usize];
        println!(
            "{:<15} {:>9} {:>9} {:>9} {:>9} {:>6} {:>5} {:>9} {:>8.1} {:>8.1}",
            kind.name(),
            s.sent,
            s.accepted,
            s.refused,
            s.either,
            s.wrong,
            s.server_errors,
            s.unanswered,
            s.latency.quantile_ms(0.99),
            secs(s.max_latency) * 1000.0,
        );
        total.sent += s.sent;
        total.accepted += s.accepted;
        total.refused += s.refused;
        total.either += s.either;
        total.wrong += s.wrong;
        total.server_errors += s.server_errors;
        total.unanswered += s.unanswered;
        total.max_latency = total.max_latency.max(s.max_latency);
        for (t, n) in total.latency.0.iter_mut().zip(s.latency.0) {
            *t += n;
        }
    }
    println!(
        "{:<15} {:>9} {:>9} {:>9} {:>9} {:>6} {:>5} {:>9} {:>8.1} {:>8.1}",
        "total",
        total.sent,
        total.accepted,
        total.refused,
        total.either,
        total.wrong,
        total.server_errors,
        total.unanswered,
        total.latency.quantile_ms(0.99),
        secs(total.max_latency) * 1000.0,
    );
    println!(
        "(either: answered while a key change was being learned, where 200 and 401 are both right)"
    );
    println!();
    println!(
        "requests: {} in {:.1} s ({:.0}/s); wrong decisions: {}; 5xx: {}; unanswered: {}",
        total.sent,
        secs(duration),
        total.sent as f64 / secs(duration),
        total.wrong,
        total.server_errors,
        total.unanswered
    );
    let faults: Vec<String> = Fault::ALL
        .iter()
        .map(|f| format!("{} x{}", f.name(), chaos.faults.get(f.name()).unwrap_or(&0)))
        .collect();
    println!(
        "chaos: {} key rotations; fault windows: {}",
        chaos.rotations,
        faults.join(", ")
    );
    // Background refreshes come at most once per max-age after a success (2 s
    // after a failure); refreshes for unknown `kid`s spend a token of a bucket
    // (burst, plus one per refill interval); +2 for the first fetch and rounding.
    let fetch_bound = (secs(elapsed) / JWKS_MAX_AGE as f64).ceil() as usize
        + UNKNOWN_KID_BURST as usize
        + (secs(elapsed) / secs(UNKNOWN_KID_REFILL)).ceil() as usize
        + 2;
    println!(
        "JWKS fetches: {jwks_fetches} in {:.1} s (bound {fetch_bound}); discovery fetches: {discovery_fetches}",
        secs(elapsed)
    );
    // (time, RSS MiB, open fds), one per second.
    let at_warmup = samples.iter().find(|s| s.0 >= warmup).or(samples.last());
    let (first, last) = (samples.first(), samples.last());
    let rss = |s: Option<&(Duration, f64, usize)>| s.map_or(0.0, |s| s.1);
    let fds = |s: Option<&(Duration, f64, usize)>| s.map_or(0, |s| s.2);
    let (warm, end) = (rss(at_warmup), rss(last));
    let peak = samples.iter().map(|s| s.1).fold(0.0, f64::max);
    println!(
        "RSS: first {:.1} MiB, after warm-up ({:.0} s) {warm:.1} MiB, peak {peak:.1} MiB, last {end:.1} MiB \
         (growth after warm-up {:+.1} MiB); open fds: first {}, after warm-up {}, last {}",
        rss(first),
        secs(warmup),
        end - warm,
        fds(first),
        fds(at_warmup),
        fds(last),
    );
    for (title, list) in [
        ("wrong decisions", &stats.wrong),
        ("5xx answers", &stats.server_errors),
        ("unanswered requests", &stats.unanswered),
        ("stalls", &chaos.stalls),
    ] {
        if !list.is_empty() {
            println!("\nfirst {title}:");
            list.iter().for_each(|e| println!("  {e}"));
        }
    }

    let every_kind_sent = stats.kinds.iter().all(|k| k.sent > 0);
    let checks = [
        (
            total.wrong == 0,
            format!("no wrong decision ({} wrong)", total.wrong),
        ),
        (
            total.server_errors == 0,
            format!("no 5xx ({} seen)", total.server_errors),
        ),
        (
            total.unanswered == 0,
            format!(
                "every request answered within {} s ({} not)",
                CLIENT_TIMEOUT.as_secs(),
                total.unanswered
            ),
        ),
        (
            chaos.stalls.is_empty(),
            format!(
                "the store learned every change within {} s ({} stalls)",
                LEARN_TIMEOUT.as_secs(),
                chaos.stalls.len()
            ),
        ),
        (
            end - warm < RSS_GROWTH_LIMIT_MIB,
            format!(
                "RSS growth after warm-up {:+.1} MiB < {RSS_GROWTH_LIMIT_MIB} MiB",
                end - warm
            ),
        ),
        (
            jwks_fetches <= fetch_bound,
            format!("JWKS fetches {jwks_fetches} <= {fetch_bound}"),
        ),
        (
            chaos.rotations > 0 && !chaos.faults.is_empty() && every_kind_sent,
            format!(
                "the plan ran ({} rotations, {} fault windows, every kind of token sent: {every_kind_sent})",
                chaos.rotations,
                chaos.faults.values().sum::<usize>()
            ),
        ),
    ];
    println!();
    for (ok, what) in &checks {
        println!("  {} {what}", if *ok { "ok  " } else { "FAIL" });
    }
    let failed = checks.iter().filter(|(ok, _)| !ok).count();
    println!("{} passed, {failed} failed", checks.len() - failed);
    std::process::exit(i32::from(failed > 0));
}
