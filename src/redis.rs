//! Scale out through Redis: a sink that publishes every event, a subscriber
//! that hands them to a local sink on every replica, and deduplication across
//! replicas (feature `redis`).
//!
//! # Topology
//!
//! Run several receiver replicas behind a load balancer and point Alertmanager
//! (one, or an HA cluster whose peers may all notify) at it. On each replica:
//!
//! - the receiver's sink is a [`RedisSink`], which publishes each event's JSON
//!   to one Redis pub/sub channel or stream;
//! - a [`RedisSubscriber`] reads that channel or stream and hands every event
//!   to the replica's local sink, e.g. the [`BroadcastSink`](crate::sink::BroadcastSink)
//!   its WebSocket clients listen to.
//!
//! Every client then sees every alert, whichever replica received it.
//!
//! ```no_run
//! use std::time::Duration;
//! use alertmanager_webhook::redis::{RedisSink, RedisSubscriber};
//! use alertmanager_webhook::{sink::BroadcastSink, AlertReceiver};
//!
//! # async fn replica() -> Result<(), alertmanager_webhook::sink::BoxError> {
//! let url = "redis://127.0.0.1:6379/";
//! let publish = RedisSink::builder(url)
//!     .stream("alerts", 10_000)
//!     .dedup(Duration::from_secs(300))
//!     .build()
//!     .await?;
//! let receiver = AlertReceiver::builder().sink(publish).build();
//!
//! let (tx, _) = tokio::sync::broadcast::channel(1024);
//! let local = BroadcastSink::new(tx);
//! let subscriber = RedisSubscriber::builder(url)
//!     .stream("alerts", "replica-a")
//!     .build()
//!     .await?;
//! tokio::spawn(subscriber.run(local.clone()));
//! // Serve `receiver`; WebSocket clients subscribe to `local`.
//! # Ok(()) }
//! ```
//!
//! # Pub/sub or stream
//!
//! **Pub/sub** (`PUBLISH channel json`) keeps nothing in Redis. Any process can
//! `SUBSCRIBE` and gets exactly the event JSON. A subscriber that is
//! disconnected misses what is published meanwhile.
//!
//! **Stream** (`XADD key MAXLEN ~ maxlen * event json`) keeps about the last
//! `maxlen` events, so memory stays bounded. Each replica reads through its own
//! consumer group, named after the replica: the group is created with
//! `XGROUP CREATE key group $ MKSTREAM` (a new replica starts with new events),
//! read with `XREADGROUP GROUP group group COUNT n BLOCK ms STREAMS key >`, and
//! an entry is acknowledged (`XACK`) once the local sink has accepted it. A
//! replica that stops and starts again under the same group name first re-reads
//! its entries that were read but never acknowledged, then resumes after the
//! last entry it read: nothing in between is lost, unless more than about
//! `maxlen` events arrived meanwhile (`MAXLEN` trims them regardless of groups).
//! Delivery is at least once: an entry whose `XACK` was lost is read again
//! after a restart. The group of a replica gone for good stays in Redis, small,
//! until `XGROUP DESTROY key group`. If Redis itself restarts without
//! persistence, the stream and its groups are gone: the subscriber recreates its
//! group at the stream's start, so it reads every event published since.
//!
//! # Deduplication across replicas
//!
//! With [`RedisSinkBuilder::dedup`], the sink claims each event's key with
//! `SET key 1 NX PX ttl` and publishes only if the claim succeeded, both in one
//! Lua script, so Redis runs them atomically. When replicas get the same
//! notification, exactly one publishes each alert. The key is a prefix (the
//! channel or stream name and `:dedup:`) followed by
//! [`Event::dedup_key`] itself (fingerprint, status, `startsAt`, `endsAt`): Redis
//! keys are binary-safe and these are short, so nothing is hashed and two
//! different alerts can never share a key. Claim and publish being one script,
//! a key is claimed exactly when its event was published: a send that Redis
//! refused claimed nothing, and Alertmanager's retry is not mistaken for a
//! duplicate. A send that timed out has an unknown outcome: Redis may still run
//! it (say, after a pause), so it counts as failed although the event may be
//! published; the retry is then suppressed as a duplicate (with this
//! deduplication) or published again (without). Delivery is at least once.
//!
//! A suppressed duplicate is a successful send: the event did reach Redis,
//! through the other replica, so the receiver counts it as `delivered`. The
//! sink counts it in [`RedisSink::duplicates`]. The receiver's local
//! [`Dedup`](crate::Dedup) can be used too: it saves the round trip for
//! retries that reach the same replica.
//!
//! # When Redis is down
//!
//! The sink holds one multiplexed connection (`redis::aio::ConnectionManager`).
//! A send that finds it broken starts one new connection attempt and sends once
//! more, on the new connection; so once Redis is back, the first send succeeds
//! without restarting anything (a retried send may publish an event twice: at
//! least once, as above). Every send, retry included, is bounded by the sink's
//! [`timeout`](RedisSinkBuilder::timeout) (1 s by default), so a down or
//! unreachable Redis makes sends fail instead of hang. In the receiver's default
//! queued mode such events are counted as `failed` and logged, and the answer is
//! still 200; in [acknowledged](crate::Builder::acknowledged) mode the answer is
//! 503 with `Retry-After`, so Alertmanager retries.
//! A connection that goes silent without closing (a half-open TCP connection:
//! a dropped NAT entry, a vanished host) never fails, so the manager never
//! replaces it: after a send times out, the sink connects anew in the
//! background and swaps the new connection in. A pub/sub subscriber sends a
//! PING every 5 s and subscribes again when no answer comes within its timeout
//! (what was published meanwhile is missed, as in any pub/sub outage); a stream
//! subscriber connects anew when a read times out, and then reads what it missed.
//!
//! The subscriber reconnects on its own, with backoff from 50 ms up to 2 s,
//! and subscribes again; in stream mode it continues from its group's position.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::Either;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection, PubSub};
use redis::streams::{StreamRangeReply, StreamReadOptions, StreamReadReply};
use redis::{AsyncCommands, AsyncConnectionConfig, Client, RedisError, Script, Value};

use crate::Event;
use crate::log::{TARGET, escaped};
use crate::sink::{BoxError, Sink, SinkError};

/// The default bound on one Redis operation (connecting included).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// How long one `XREADGROUP` waits for new entries before asking again.
const BLOCK: Duration = Duration::from_secs(5);
/// How often a pub/sub subscriber checks, with a PING, that its connection still answers.
const PING_EVERY: Duration = Duration::from_secs(5);

/// Entries read from a stream at once.
const BATCH: usize = 128;

/// The stream entry field that holds the event JSON (spelled out in `XADD_ONCE` too).
const FIELD: &str = "event";

/// Claims the dedup key and publishes to a channel, atomically.
/// KEYS: dedup key. ARGV: ttl in ms, channel, JSON.
const PUBLISH_ONCE: &str = r"
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then
  redis.call('PUBLISH', ARGV[2], ARGV[3])
  return 1
end
return 0";

/// Claims the dedup key and appends to a stream, atomically.
/// KEYS: dedup key, stream. ARGV: ttl in ms, maxlen, JSON.
const XADD_ONCE: &str = r"
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'event', ARGV[3])
  return 1
end
return 0";

/// Where events go in Redis.
#[derive(Clone, Debug)]
enum Target {
    PubSub(String),
    Stream { key: String, maxlen: usize },
}

impl Target {
    fn name(&self) -> &str {
        match self {
            Target::PubSub(channel) => channel,
            Target::Stream { key, .. } => key,
        }
    }
}

/// Runs `fut` under `timeout`, turning both a Redis error and the timeout into a [`SinkError`].
async fn bounded<T>(
    timeout: Duration,
    fut: impl Future<Output = Result<T, RedisError>>,
) -> Result<T, SinkError> {
    match tokio::time::timeout(timeout, fut).await {
        Ok(result) => result.map_err(SinkError::new),
        Err(_) => Err(no_answer(timeout)),
    }
}

fn no_answer(timeout: Duration) -> SinkError {
    SinkError::new(format!("Redis did not answer within {timeout:?}"))
}

/// One plain multiplexed connection, connecting and each answer within `timeout`.
async fn connect_once(
    client: &Client,
    timeout: Duration,
) -> Result<MultiplexedConnection, SinkError> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(timeout)
        .set_response_timeout(timeout);
    bounded(
        timeout,
        client.get_multiplexed_async_connection_with_config(&config),
    )
    .await
}

/// One multiplexed connection that a failed send reconnects (one attempt each
/// time), every answer bounded.
async fn connection_manager(
    client: Client,
    timeout: Duration,
    response_timeout: Duration,
) -> Result<ConnectionManager, SinkError> {
    // One plain attempt first, for the actual error when Redis is not there.
    connect_once(&client, timeout).await?;
    // One attempt per reconnect, started by the send that finds the connection
    // broken: a send never waits on a reconnect that sleeps between attempts
    // (it would outlast the send's timeout, and fail the first send after Redis
    // is back).
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(timeout)
        .set_response_timeout(response_timeout)
        .set_number_of_retries(0);
    bounded(
        timeout * 4,
        ConnectionManager::new_with_config(client, config),
    )
    .await
}

/// Publishes every event's JSON to Redis, to a pub/sub channel or a stream.
///
/// Cloning is cheap and shares the connection and the counter. See the
/// [module documentation](self) for modes, deduplication and failures.
///
/// ```no_run
/// use alertmanager_webhook::{redis::RedisSink, AlertReceiver};
/// # async fn f() -> Result<(), alertmanager_webhook::sink::BoxError> {
/// let sink = RedisSink::builder("redis://127.0.0.1/").pubsub("alerts").build().await?;
/// let receiver = AlertReceiver::builder().sink(sink.clone()).build();
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisSink(Arc<SinkInner>);

struct SinkInner {
    /// Replaced after a send times out (see [`RedisSink::renew`]).
    conn: std::sync::Mutex<ConnectionManager>,
    client: Client,
    renewing: AtomicBool,
    target: Target,
    dedup: Option<DedupScript>,
    timeout: Duration,
    duplicates: AtomicU64,
}

struct DedupScript {
    prefix: Vec<u8>,
    ttl_ms: u64,
    script: Script,
}

impl fmt::Debug for RedisSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSink")
            .field("target", &self.0.target)
            .field("dedup", &self.0.dedup.as_ref().map(|d| d.ttl_ms))
            .field("duplicates", &self.duplicates())
            .finish_non_exhaustive()
    }
}

/// Configures a [`RedisSink`].
///
/// ```
/// use std::time::Duration;
/// let builder = alertmanager_webhook::redis::RedisSink::builder("redis://127.0.0.1/")
///     .stream("alerts", 10_000)
///     .dedup(Duration::from_secs(300))
///     .timeout(Duration::from_millis(500));
/// ```
#[must_use]
pub struct RedisSinkBuilder {
    url: String,
    target: Target,
    dedup: Option<Duration>,
    timeout: Duration,
}

impl fmt::Debug for RedisSinkBuilder {
    // The URL may hold a password: leave it out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSinkBuilder")
            .field("target", &self.target)
            .field("dedup", &self.dedup)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisSink {
    /// Starts configuring a sink for the Redis at `url` (`redis://[:password@]host[:port][/db]`).
    /// Without [`pubsub`](RedisSinkBuilder::pubsub) or
    /// [`stream`](RedisSinkBuilder::stream) it publishes to the channel `alerts`.
    ///
    /// ```
    /// let builder = alertmanager_webhook::redis::RedisSink::builder("redis://127.0.0.1:6379/");
    /// ```
    pub fn builder(url: impl Into<String>) -> RedisSinkBuilder {
        RedisSinkBuilder {
            url: url.into(),
            target: Target::PubSub("alerts".into()),
            dedup: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// How many events this sink (and its clones) did not publish because
    /// another replica already had (see [`RedisSinkBuilder::dedup`]).
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), alertmanager_webhook::sink::BoxError> {
    /// let sink = alertmanager_webhook::redis::RedisSink::builder("redis://127.0.0.1/").build().await?;
    /// assert_eq!(sink.duplicates(), 0);
    /// # Ok(()) }
    /// ```
    pub fn duplicates(&self) -> u64 {
        self.0.duplicates.load(Relaxed)
    }
}

impl RedisSinkBuilder {
    /// Publishes with `PUBLISH channel json`.
    ///
    /// ```
    /// let builder = alertmanager_webhook::redis::RedisSink::builder("redis://127.0.0.1/").pubsub("alerts");
    /// ```
    pub fn pubsub(mut self, channel: impl Into<String>) -> Self {
        self.target = Target::PubSub(channel.into());
        self
    }

    /// Appends with `XADD key MAXLEN ~ maxlen * event json`: Redis keeps about
    /// the last `maxlen` events (trimming is approximate, by whole nodes).
    ///
    /// ```
    /// let builder = alertmanager_webhook::redis::RedisSink::builder("redis://127.0.0.1/").stream("alerts", 10_000);
    /// ```
    pub fn stream(mut self, key: impl Into<String>, maxlen: usize) -> Self {
        self.target = Target::Stream {
            key: key.into(),
            maxlen,
        };
        self
    }

    /// Deduplicates across replicas: an event whose
    /// [`dedup_key`](Event::dedup_key) any sink on the same channel or stream
    /// published less than `ttl` ago is not published again. Claim and publish
    /// are one atomic script; see the [module documentation](self).
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = alertmanager_webhook::redis::RedisSink::builder("redis://127.0.0.1/").dedup(Duration::from_secs(300));
    /// ```
    pub fn dedup(mut self, ttl: Duration) -> Self {
        self.dedup = Some(ttl);
        self
    }

    /// The longest one send (or the initial connection) may take before it
    /// fails (default 1 s).
    ///
    /// ```
    /// let builder = alertmanager_webhook::redis::RedisSink::builder("redis://127.0.0.1/")
    ///     .timeout(std::time::Duration::from_millis(250));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connects. Fails if the URL is invalid or Redis cannot be reached now.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), alertmanager_webhook::sink::BoxError> {
    /// let sink = alertmanager_webhook::redis::RedisSink::builder("redis://127.0.0.1/").build().await?;
    /// # Ok(()) }
    /// ```
    pub async fn build(self) -> Result<RedisSink, BoxError> {
        let client = Client::open(self.url)?;
        let conn = connection_manager(client.clone(), self.timeout, self.timeout).await?;
        let dedup = self.dedup.map(|ttl| {
            let mut prefix = self.target.name().as_bytes().to_vec();
            prefix.extend_from_slice(b":dedup:");
            let code = match self.target {
                Target::PubSub(_) => PUBLISH_ONCE,
                Target::Stream { .. } => XADD_ONCE,
            };
            DedupScript {
                prefix,
                ttl_ms: u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1),
                script: Script::new(code),
            }
        });
        Ok(RedisSink(Arc::new(SinkInner {
            conn: std::sync::Mutex::new(conn),
            client,
            renewing: AtomicBool::new(false),
            target: self.target,
            dedup,
            timeout: self.timeout,
            duplicates: AtomicU64::new(0),
        })))
    }
}

impl SinkInner {
    /// Publishes (or, deduplicating, publishes once); returns whether it published.
    async fn publish(&self, json: &[u8], key: &str) -> Result<bool, RedisError> {
        let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let Some(dedup) = &self.dedup else {
            match &self.target {
                Target::PubSub(channel) => conn.publish::<_, _, ()>(channel, json).await?,
                Target::Stream { key, maxlen } => {
                    redis::cmd("XADD")
                        .arg(key)
                        .arg("MAXLEN")
                        .arg("~")
                        .arg(maxlen)
                        .arg("*")
                        .arg(FIELD)
                        .arg(json)
                        .exec_async(&mut conn)
                        .await?
                }
            }
            return Ok(true);
        };
        let mut claim = dedup.prefix.clone();
        claim.extend_from_slice(key.as_bytes());
        let mut call = dedup.script.key(claim);
        call.arg(dedup.ttl_ms);
        match &self.target {
            Target::PubSub(channel) => call.arg(channel),
            Target::Stream { key, maxlen } => call.key(key).arg(maxlen),
        };
        let published: i64 = call.arg(json).invoke_async(&mut conn).await?;
        Ok(published == 1)
    }
}

impl RedisSink {
    /// After a send timed out, connects anew in the background and swaps the
    /// new connection in. A connection that went silent without closing (a
    /// half-open TCP connection: a dropped NAT entry, a vanished host) never
    /// fails, so the connection manager's own reconnecting never replaces it.
    fn renew(&self) {
        if self.0.renewing.swap(true, Relaxed) {
            return;
        }
        let inner = Arc::clone(&self.0);
        tokio::spawn(async move {
            match connection_manager(inner.client.clone(), inner.timeout, inner.timeout).await {
                Ok(conn) => {
                    *inner.conn.lock().unwrap_or_else(|e| e.into_inner()) = conn;
                    tracing::info!(target: TARGET, "a new Redis connection after a send timed out");
                }
                Err(error) => {
                    tracing::debug!(target: TARGET, %error, "no new Redis connection yet")
                }
            }
            inner.renewing.store(false, Relaxed);
        });
    }
}

impl Sink for RedisSink {
    async fn send(&self, event: Event) -> Result<(), SinkError> {
        let inner = &*self.0;
        let publish = || inner.publish(event.json(), event.dedup_key());
        let sent = tokio::time::timeout(inner.timeout, async {
            match publish().await {
                // The connection broke while Redis was away, or the last attempt to
                // reconnect failed: that error starts one new attempt; send once more, on it.
                Err(error) if error.is_io_error() || error.is_connection_dropped() => {
                    publish().await
                }
                done => done,
            }
        })
        .await;
        let published = match sent {
            Ok(Ok(published)) => published,
            Ok(Err(error)) => {
                if error.is_timeout() {
                    self.renew();
                }
                return Err(SinkError::new(error));
            }
            Err(_) => {
                self.renew();
                return Err(no_answer(inner.timeout));
            }
        };
        if !published {
            inner.duplicates.fetch_add(1, Relaxed);
            tracing::debug!(target: TARGET, fingerprint = &*escaped(event.fingerprint()),
                "another replica already published this event");
        }
        Ok(())
    }
}

/// Reads what [`RedisSink`]s publish and hands every event to a local sink.
///
/// Build it (which connects, and subscribes or creates the consumer group),
/// then spawn [`run`](RedisSubscriber::run). See the [module documentation](self).
///
/// ```no_run
/// use alertmanager_webhook::{redis::RedisSubscriber, sink::BroadcastSink};
/// # async fn f() -> Result<(), alertmanager_webhook::sink::BoxError> {
/// let (tx, _) = tokio::sync::broadcast::channel(1024);
/// let subscriber = RedisSubscriber::builder("redis://127.0.0.1/").pubsub("alerts").build().await?;
/// tokio::spawn(subscriber.run(BroadcastSink::new(tx)));
/// # Ok(()) }
/// ```
pub struct RedisSubscriber {
    client: Client,
    source: Source,
    timeout: Duration,
}

enum Source {
    /// The subscribed connection, taken by `run`.
    PubSub { channel: String, conn: PubSub },
    Stream {
        key: String,
        group: String,
        conn: ConnectionManager,
    },
}

impl fmt::Debug for RedisSubscriber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RedisSubscriber");
        match &self.source {
            Source::PubSub { channel, .. } => d.field("channel", channel),
            Source::Stream { key, group, .. } => d.field("stream", key).field("group", group),
        };
        d.finish_non_exhaustive()
    }
}

/// Configures a [`RedisSubscriber`].
///
/// ```
/// let builder = alertmanager_webhook::redis::RedisSubscriber::builder("redis://127.0.0.1/")
///     .stream("alerts", "replica-a");
/// ```
#[must_use]
pub struct RedisSubscriberBuilder {
    url: String,
    source: SourceConfig,
    timeout: Duration,
}

#[derive(Debug)]
enum SourceConfig {
    PubSub(String),
    Stream { key: String, group: String },
}

impl fmt::Debug for RedisSubscriberBuilder {
    // The URL may hold a password: leave it out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSubscriberBuilder")
            .field("source", &self.source)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Every event that the stream `key` of the Redis at `url` still holds, oldest
/// first (about [`RedisSinkBuilder::stream`]'s `maxlen` at most), within
/// `timeout` for connecting and again for reading. For a replica that restarts:
/// its consumer group hands it only what it missed, and this is what was there
/// before (the dashboard example rebuilds the alerts firing now from it).
///
/// ```no_run
/// # async fn f() -> Result<(), alertmanager_webhook::sink::BoxError> {
/// use std::time::Duration;
/// let url = "redis://127.0.0.1:6379/";
/// let events = alertmanager_webhook::redis::stream_history(url, "alerts", Duration::from_secs(1)).await?;
/// # Ok(()) }
/// ```
pub async fn stream_history(
    url: &str,
    key: &str,
    timeout: Duration,
) -> Result<Vec<Event>, BoxError> {
    let mut conn = connect_once(&Client::open(url)?, timeout).await?;
    let reply: StreamRangeReply = bounded(timeout, conn.xrange_all(key)).await?;
    Ok(reply
        .ids
        .into_iter()
        .filter_map(|mut entry| match entry.map.remove(FIELD) {
            Some(Value::BulkString(json)) => Event::from_json(json).ok(),
            _ => None,
        })
        .collect())
}

impl RedisSubscriber {
    /// Starts configuring a subscriber of the Redis at `url`. Without
    /// [`pubsub`](RedisSubscriberBuilder::pubsub) or
    /// [`stream`](RedisSubscriberBuilder::stream) it subscribes to the channel `alerts`.
    ///
    /// ```
    /// let builder = alertmanager_webhook::redis::RedisSubscriber::builder("redis://127.0.0.1/");
    /// ```
    pub fn builder(url: impl Into<String>) -> RedisSubscriberBuilder {
        RedisSubscriberBuilder {
            url: url.into(),
            source: SourceConfig::PubSub("alerts".into()),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Hands every event to `sink`, reconnecting whenever Redis goes away;
    /// never returns (abort its task to stop it).
    ///
    /// An event the sink refuses is logged; in stream mode it is also left
    /// unacknowledged, so it is read again when the subscriber restarts.
    ///
    /// ```no_run
    /// # use alertmanager_webhook::{redis::RedisSubscriber, sink::NoSink};
    /// # async fn f() -> Result<(), alertmanager_webhook::sink::BoxError> {
    /// let subscriber = RedisSubscriber::builder("redis://127.0.0.1/").build().await?;
    /// let task = tokio::spawn(subscriber.run(NoSink));
    /// task.abort();
    /// # Ok(()) }
    /// ```
    pub async fn run(self, sink: impl Sink) -> Infallible {
        match self.source {
            Source::PubSub { channel, conn } => {
                run_pubsub(&self.client, &channel, conn, self.timeout, &sink).await
            }
            Source::Stream { key, group, conn } => {
                let stream = StreamSource {
                    client: &self.client,
                    key: &key,
                    group: &group,
                    timeout: self.timeout,
                };
                run_stream(stream, conn, &sink).await
            }
        }
    }
}

impl RedisSubscriberBuilder {
    /// Reads the pub/sub `channel`.
    ///
    /// ```
    /// let builder = alertmanager_webhook::redis::RedisSubscriber::builder("redis://127.0.0.1/").pubsub("alerts");
    /// ```
    pub fn pubsub(mut self, channel: impl Into<String>) -> Self {
        self.source = SourceConfig::PubSub(channel.into());
        self
    }

    /// Reads the stream `key` through the consumer group `group`, which names
    /// this replica: give every replica its own, and the same one across its
    /// restarts, so that it resumes where it stopped.
    ///
    /// ```
    /// let builder = alertmanager_webhook::redis::RedisSubscriber::builder("redis://127.0.0.1/")
    ///     .stream("alerts", "replica-a");
    /// ```
    pub fn stream(mut self, key: impl Into<String>, group: impl Into<String>) -> Self {
        self.source = SourceConfig::Stream {
            key: key.into(),
            group: group.into(),
        };
        self
    }

    /// The longest connecting, subscribing or one command may take (default 1 s).
    ///
    /// ```
    /// let builder = alertmanager_webhook::redis::RedisSubscriber::builder("redis://127.0.0.1/")
    ///     .timeout(std::time::Duration::from_millis(500));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connects, then subscribes to the channel or creates the consumer group
    /// (at the stream's end, if it does not exist yet): events published from
    /// now on reach [`run`](RedisSubscriber::run).
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), alertmanager_webhook::sink::BoxError> {
    /// let subscriber = alertmanager_webhook::redis::RedisSubscriber::builder("redis://127.0.0.1/")
    ///     .build()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn build(self) -> Result<RedisSubscriber, BoxError> {
        let client = Client::open(self.url)?;
        let source = match self.source {
            SourceConfig::PubSub(channel) => {
                let conn = subscribe(&client, &channel, self.timeout).await?;
                Source::PubSub { channel, conn }
            }
            SourceConfig::Stream { key, group } => {
                let mut conn =
                    connection_manager(client.clone(), self.timeout, BLOCK + self.timeout).await?;
                create_group(&mut conn, &key, &group, "$").await?;
                Source::Stream { key, group, conn }
            }
        };
        Ok(RedisSubscriber {
            client,
            source,
            timeout: self.timeout,
        })
    }
}

/// Waits before reconnect attempt `n` (from 0): 50 ms, doubling, at most 2 s.
async fn backoff(attempt: u32) {
    let delay = Duration::from_millis(50 << attempt.min(6)).min(Duration::from_secs(2));
    tokio::time::sleep(delay).await;
}

async fn subscribe(client: &Client, channel: &str, timeout: Duration) -> Result<PubSub, SinkError> {
    bounded(timeout, async {
        let mut conn = client.get_async_pubsub().await?;
        conn.subscribe(channel).await?;
        Ok(conn)
    })
    .await
}

/// Hands one event JSON to the sink; returns whether it was accepted.
async fn deliver(sink: &impl Sink, json: &[u8]) -> bool {
    let event = match Event::from_json(json) {
        Ok(event) => event,
        Err(error) => {
            tracing::warn!(target: TARGET, %error, "skipping a Redis message that is not an event");
            return true;
        }
    };
    match sink.send(event).await {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!(target: TARGET, %error, "the local sink refused an event from Redis");
            false
        }
    }
}

async fn run_pubsub(
    client: &Client,
    channel: &str,
    conn: PubSub,
    timeout: Duration,
    sink: &impl Sink,
) -> Infallible {
    let mut conn = Some(conn);
    let mut attempt = 0;
    loop {
        let subscribed = match conn.take() {
            Some(c) => c,
            None => match subscribe(client, channel, timeout).await {
                Ok(c) => {
                    tracing::info!(target: TARGET, channel, "subscribed to Redis again");
                    attempt = 0;
                    c
                }
                Err(error) => {
                    tracing::debug!(target: TARGET, %error, "Redis subscription failed; retrying");
                    backoff(attempt).await;
                    attempt += 1;
                    continue;
                }
            },
        };
        // A connection that went silent without closing never ends the
        // stream of messages: a PING now and then, with a deadline, finds it.
        let (mut pinger, mut messages) = subscribed.split();
        let mut every = tokio::time::interval(PING_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let message = std::pin::pin!(messages.next());
            let tick = std::pin::pin!(every.tick());
            match futures_util::future::select(message, tick).await {
                Either::Left((Some(message), _)) => {
                    deliver(sink, message.get_payload_bytes()).await;
                }
                Either::Left((None, _)) => break,
                Either::Right(_) => {
                    if bounded(timeout, pinger.ping::<Value>()).await.is_err() {
                        break;
                    }
                }
            }
        }
        tracing::warn!(target: TARGET, channel,
            "lost the Redis subscription; events published until it is back are missed");
    }
}

/// `XGROUP CREATE key group start MKSTREAM`, accepting a group that already exists.
async fn create_group(
    conn: &mut ConnectionManager,
    key: &str,
    group: &str,
    start: &str,
) -> Result<(), RedisError> {
    match conn
        .xgroup_create_mkstream::<_, _, _, ()>(key, group, start)
        .await
    {
        Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
        other => other,
    }
}

/// Where a stream subscriber reads, and how to connect there anew.
struct StreamSource<'a> {
    client: &'a Client,
    key: &'a str,
    group: &'a str,
    timeout: Duration,
}

async fn run_stream(
    source: StreamSource<'_>,
    mut conn: ConnectionManager,
    sink: &impl Sink,
) -> Infallible {
    let StreamSource { key, group, .. } = source;
    // `Some(id)`: re-reading this replica's pending entries after `id`; `None`: new entries.
    let mut pending = Some("0".to_owned());
    let mut attempt = 0;
    loop {
        let mut options = StreamReadOptions::default()
            .group(group, group)
            .count(BATCH);
        if pending.is_none() {
            options = options.block(BLOCK.as_millis() as usize);
        }
        let from = pending.as_deref().unwrap_or(">");
        let reply: Result<Option<StreamReadReply>, _> =
            conn.xread_options(&[key], &[from], &options).await;
        let entries = match reply {
            Ok(reply) => {
                if attempt > 0 {
                    tracing::info!(target: TARGET, stream = key, "reading the Redis stream again");
                    attempt = 0;
                }
                reply
                    .and_then(|r| r.keys.into_iter().next())
                    .map(|k| k.ids)
                    .unwrap_or_default()
            }
            Err(error) => {
                if error.code() == Some("NOGROUP") {
                    // Redis lost the group (a restart without persistence):
                    // everything now in the stream was published since.
                    tracing::warn!(target: TARGET, stream = key, group,
                        "the consumer group is gone; recreating it at the stream's start");
                    if create_group(&mut conn, key, group, "0").await.is_ok() {
                        pending = Some("0".to_owned());
                        continue;
                    }
                } else if attempt == 0 {
                    tracing::warn!(target: TARGET, %error, stream = key, "cannot read the Redis stream; retrying");
                }
                if error.is_timeout() {
                    // A connection that went silent without closing never fails
                    // otherwise, and the manager keeps it: connect anew.
                    let timeout = source.timeout;
                    if let Ok(fresh) =
                        connection_manager(source.client.clone(), timeout, BLOCK + timeout).await
                    {
                        conn = fresh;
                    }
                }
                pending = Some("0".to_owned());
                backoff(attempt).await;
                attempt += 1;
                continue;
            }
        };
        if pending.is_some() && entries.is_empty() {
            pending = None;
            continue;
        }
        let mut done = Vec::with_capacity(entries.len());
        for mut entry in entries {
            let accepted = match entry.map.remove(FIELD) {
                Some(Value::BulkString(json)) => deliver(sink, &json).await,
                // Trimmed or deleted before it was read again, or not ours.
                _ => true,
            };
            if pending.is_some() {
                pending = Some(entry.id.clone());
            }
            if accepted {
                done.push(entry.id);
            }
        }
        if !done.is_empty() {
            if let Err(error) = conn.xack::<_, _, _, ()>(key, group, done.as_slice()).await {
                tracing::warn!(target: TARGET, %error, stream = key,
                    "could not acknowledge; these entries will be read again after a restart");
            }
        }
    }
}
