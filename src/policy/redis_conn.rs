//! How the Redis store reaches Redis: one server (a multiplexed connection, all
//! requests of the process pipelined over one socket) or a Redis Cluster (a cluster
//! connection that routes each call to the primary of its keys' slot and follows
//! `MOVED`/`ASK` on failover or resharding).
//!
//! The store's scripts touch several keys at once (a key's, its team's and the model's
//! counters), which a cluster only allows within one hash slot. In cluster mode every
//! key therefore carries the prefix as a hash tag (`{tollgate:}...`): one slot holds
//! all of tollgate's counters, so a cluster gives them failover, not sharding.

use std::time::Duration;

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::{
    AsyncConnectionConfig, Cmd, Pipeline, RedisFuture, RedisResult, TlsCertificates, Value,
};

/// Where the store connects.
/// Both clients are boxed: they are large (hundreds of bytes) and built once.
pub(crate) enum Target {
    Single(Box<redis::Client>),
    Cluster(Box<ClusterClient>),
}

impl Target {
    /// One server at `url`; `ca_pem` replaces the system roots for `rediss://`.
    pub fn single(url: &str, ca_pem: Option<&[u8]>) -> RedisResult<Target> {
        let client = match ca_pem {
            None => redis::Client::open(url)?,
            Some(pem) => redis::Client::build_with_tls(url, certificates(pem))?,
        };
        Ok(Target::Single(Box::new(client)))
    }

    /// A cluster known by one or more seed nodes (the rest is discovered).
    pub fn cluster(
        seeds: &[&str],
        ca_pem: Option<&[u8]>,
        timeout: Duration,
    ) -> RedisResult<Target> {
        let mut builder = ClusterClientBuilder::new(seeds.to_vec())
            .connection_timeout(timeout)
            .response_timeout(timeout);
        if let Some(pem) = ca_pem {
            builder = builder.certs(certificates(pem));
        }
        Ok(Target::Cluster(Box::new(builder.build()?)))
    }

    /// Opens a connection, bounded by `timeout` (connect and each response).
    pub async fn connect(&self, timeout: Duration) -> RedisResult<Conn> {
        match self {
            Target::Single(client) => {
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(timeout));
                let conn = client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await?;
                Ok(Conn::Single(conn))
            }
            Target::Cluster(client) => Ok(Conn::Cluster(client.get_async_connection().await?)),
        }
    }

    /// The prefix of every key: as configured on one server, a hash tag in a cluster.
    pub fn key_prefix(&self, prefix: &str) -> String {
        match self {
            Target::Single(_) => prefix.to_string(),
            Target::Cluster(_) if prefix.contains('{') => prefix.to_string(),
            Target::Cluster(_) => format!("{{{prefix}}}"),
        }
    }
}

fn certificates(pem: &[u8]) -> TlsCertificates {
    TlsCertificates {
        client_tls: None,
        root_cert: Some(pem.to_vec()),
    }
}

/// An open connection of either kind; cheap to clone (both are handles).
#[derive(Clone)]
pub(crate) enum Conn {
    Single(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl Conn {
    /// Runs a keyless command (`SCAN`) where `key` lives: on one server, that server;
    /// in a cluster, the primary of `key`'s hash slot (a keyless command would
    /// otherwise go to any node).
    pub async fn query_where<T: redis::FromRedisValue>(
        &mut self,
        cmd: Cmd,
        key: &str,
    ) -> RedisResult<T> {
        match self {
            Conn::Single(c) => cmd.query_async(c).await,
            Conn::Cluster(c) => {
                use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
                let node = Route::with_key(key, SlotAddr::Master);
                let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(node));
                let value = c.route_command(cmd, routing).await?;
                Ok(redis::from_redis_value(value)?)
            }
        }
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_keys_share_one_hash_tag() {
        let single = Target::single("redis://127.0.0.1:6379/", None).unwrap();
        assert_eq!(single.key_prefix("tollgate:"), "tollgate:");
        let timeout = Duration::from_millis(50);
        let cluster = Target::cluster(&["redis://127.0.0.1:7000/"], None, timeout).unwrap();
        assert_eq!(cluster.key_prefix("tollgate:"), "{tollgate:}");
        assert_eq!(cluster.key_prefix("{tg}:"), "{tg}:");
    }
}
