//! Best-effort writer exclusivity for Pravega, which has no writer lock of its own.
//!
//! Each scope has a Pravega key-value table ([`TABLE_NAME`]); a writer holds a stream by a lease entry keyed by
//! the stream name, with the value `<owner> <expiry in Unix ms>`. Taking a lease is a conditional insert (on
//! "key absent" or on the version of an expired entry), so two writers racing for a free stream cannot both
//! win. The holder renews every [`RENEW_EVERY`]; a renewal that finds another version means the lease was
//! taken over (after it expired) and the writer refuses further appends. Limits, all documented for users:
//! a writer that crashed on another machine blocks its streams until [`LEASE_TTL`] passes (one that crashed
//! on this machine does not: its lease names its process, and a lease whose process is gone is taken over at
//! once), and expiry compares wall clocks of the hosts involved. Pravega's conditional appends remain the hard guarantee that bytes never interleave.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pravega_client::sync::table::{Table, TableError};
use pravega_wire_protocol::commands::TableKey;

use crate::error::{Result, StoreError};
use crate::name::StreamName;

/// Name of the per-scope lease table.
pub const TABLE_NAME: &str = "hindsight-writer-leases";
/// How long a lease lasts without renewal.
pub const LEASE_TTL: Duration = Duration::from_secs(15);
/// How often the holder renews.
pub const RENEW_EVERY: Duration = Duration::from_secs(4);

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// This machine as lease owners name it: the host name and the PID namespace, since containers on one host may
/// share a host name but never see each other's processes.
fn machine() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().replace(':', "_"))
        .unwrap_or_else(|_| "host".into());
    let ns = std::fs::read_link("/proc/self/ns/pid")
        .map(|l| {
            l.to_string_lossy()
                .chars()
                .filter(char::is_ascii_digit)
                .collect::<String>()
        })
        .unwrap_or_default();
    format!("{host}/{ns}")
}

/// A lease owner id unique to one writer: machine, process, a time stamp and a counter.
pub(crate) fn owner_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    static COUNTER: AtomicI64 = AtomicI64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{}:{}:{nanos:x}:{n}", machine(), std::process::id())
}

/// True if `holder` names a process of this machine that no longer runs (a writer killed before it could
/// release its lease). Owners of other machines, or of an older id format, are never judged gone.
fn holder_is_gone(holder: &str) -> bool {
    let mut parts = holder.rsplitn(4, ':');
    let (Some(_n), Some(_nanos), Some(pid), Some(owner_machine)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    owner_machine == machine()
        && pid != std::process::id()
        && !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// True while `holder`'s lease keeps others out: not expired, and its process not known to be gone.
fn holds(holder: &str, expiry: u64) -> bool {
    expiry > now_ms() && !holder_is_gone(holder)
}

fn key(name: &StreamName) -> String {
    name.stream().to_owned()
}

fn value(owner: &str) -> String {
    format!("{owner} {}", now_ms() + LEASE_TTL.as_millis() as u64)
}

/// `(owner, expiry ms)` of a stored value; unparsable values count as expired.
fn parse(v: &str) -> (String, u64) {
    match v.rsplit_once(' ') {
        Some((owner, exp)) => (owner.to_owned(), exp.parse().unwrap_or(0)),
        None => (v.to_owned(), 0),
    }
}

fn table_err(name: &StreamName, what: &str, e: TableError) -> StoreError {
    super::errors::classify(
        format_args!("cannot {what} the writer lease of {name}"),
        &e.to_string(),
    )
}

/// What identifies a held lease; cheap to clone into tasks.
#[derive(Clone)]
pub(crate) struct LeaseRef {
    name: StreamName,
    owner: String,
    version: Arc<AtomicI64>,
    lost: Arc<AtomicBool>,
}

impl LeaseRef {
    /// Makes sure the lease is still ours, taking it again if its entry vanished or expired meanwhile (a server
    /// restart that lost the table, a long outage). [`StoreError::WriterBusy`] if another writer holds it now.
    pub(crate) async fn reassert(&self, table: Arc<Table>) -> Result<()> {
        let k = key(&self.name);
        let current: Option<(String, i64)> = table
            .get(&k)
            .await
            .map_err(|e| table_err(&self.name, "read", e))?;
        let expected = match current {
            None => TableKey::KEY_NOT_EXISTS,
            Some((v, version)) => {
                let (holder, expiry) = parse(&v);
                if holder != self.owner && holds(&holder, expiry) {
                    self.lost.store(true, Ordering::SeqCst);
                    return Err(StoreError::WriterBusy(self.name.clone()));
                }
                version
            }
        };
        match table
            .insert_conditionally(&k, &value(&self.owner), expected, -1)
            .await
        {
            Ok(v) => {
                self.version.store(v, Ordering::SeqCst);
                Ok(())
            }
            Err(TableError::IncorrectKeyVersion { .. }) | Err(TableError::KeyDoesNotExist { .. }) => {
                self.lost.store(true, Ordering::SeqCst);
                Err(StoreError::WriterBusy(self.name.clone()))
            }
            Err(e) => Err(table_err(&self.name, "renew", e)),
        }
    }
}

/// A held lease; renewing in the background until released or dropped.
pub(crate) struct Lease {
    table: Arc<Table>,
    r: LeaseRef,
    renewer: tokio::task::JoinHandle<()>,
}

impl Lease {
    /// Takes the lease of `name` for `owner`, or [`StoreError::WriterBusy`] while someone else holds it.
    /// Must run inside the runtime (it starts the renewal task).
    pub(crate) async fn acquire(table: Arc<Table>, name: &StreamName, owner: &str) -> Result<Lease> {
        let k = key(name);
        let mut attempts = 0;
        let version = loop {
            attempts += 1;
            let current: Option<(String, i64)> =
                table.get(&k).await.map_err(|e| table_err(name, "read", e))?;
            let expected = match current {
                None => TableKey::KEY_NOT_EXISTS,
                Some((v, version)) => {
                    let (holder, expiry) = parse(&v);
                    if holder != owner && holds(&holder, expiry) {
                        tracing::debug!(stream = %name, %holder, "writer lease held by another writer");
                        return Err(StoreError::WriterBusy(name.clone()));
                    }
                    if holder != owner {
                        tracing::info!(stream = %name, %holder, "taking over the lease of a writer that expired or is gone");
                    }
                    version
                }
            };
            match table.insert_conditionally(&k, &value(owner), expected, -1).await {
                Ok(v) => break v,
                // Someone else changed it between our read and write: look again (they probably won).
                Err(TableError::IncorrectKeyVersion { .. }) | Err(TableError::KeyDoesNotExist { .. })
                    if attempts < 3 => {}
                Err(TableError::IncorrectKeyVersion { .. }) | Err(TableError::KeyDoesNotExist { .. }) => {
                    return Err(StoreError::WriterBusy(name.clone()))
                }
                Err(e) => return Err(table_err(name, "take", e)),
            }
        };
        let r = LeaseRef {
            name: name.clone(),
            owner: owner.to_owned(),
            version: Arc::new(AtomicI64::new(version)),
            lost: Arc::new(AtomicBool::new(false)),
        };
        let renewer = tokio::spawn(renew(table.clone(), r.clone()));
        Ok(Lease { table, r, renewer })
    }

    /// True once another writer took the lease over.
    pub(crate) fn is_lost(&self) -> bool {
        self.r.lost.load(Ordering::SeqCst)
    }

    /// A handle for [`LeaseRef::reassert`].
    pub(crate) fn handle(&self) -> LeaseRef {
        self.r.clone()
    }

    /// Stops renewing; the returned future removes the entry (unless it was taken over).
    pub(crate) fn release(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        self.renewer.abort();
        let (table, r) = (self.table.clone(), self.r.clone());
        async move {
            if r.lost.load(Ordering::SeqCst) {
                return;
            }
            let v = r.version.load(Ordering::SeqCst);
            if let Err(e) = table.remove_conditionally(&key(&r.name), v, -1).await {
                tracing::debug!(stream = %r.name, error = %e, "cannot release writer lease; it will expire");
            }
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // Never leave a renewer behind (e.g. when opening a writer failed after the lease was taken).
        self.renewer.abort();
    }
}

async fn renew(table: Arc<Table>, r: LeaseRef) {
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        let v = r.version.load(Ordering::SeqCst);
        match table
            .insert_conditionally(&key(&r.name), &value(&r.owner), v, -1)
            .await
        {
            Ok(next) => r.version.store(next, Ordering::SeqCst),
            Err(TableError::IncorrectKeyVersion { .. }) | Err(TableError::KeyDoesNotExist { .. }) => {
                tracing::warn!(stream = %r.name, "writer lease was taken over by another writer");
                r.lost.store(true, Ordering::SeqCst);
                return;
            }
            // Transient (server restarting): try again at the next period; a writer that reconnects checks its
            // lease again first (`reassert`).
            Err(e) => tracing::warn!(stream = %r.name, error = %e, "cannot renew writer lease"),
        }
    }
}

/// True while some writer holds a lease on `name` (unexpired, its process not known to be gone).
pub(crate) async fn is_held(table: &Table, name: &StreamName) -> Result<bool> {
    let current: Option<(String, i64)> = table
        .get(&key(name))
        .await
        .map_err(|e| table_err(name, "read", e))?;
    Ok(current.is_some_and(|(v, _)| {
        let (holder, expiry) = parse(&v);
        holds(&holder, expiry)
    }))
}

/// Removes any lease entry of `name` (after the stream was deleted).
pub(crate) async fn remove_any(table: &Table, name: &StreamName) -> Result<()> {
    table
        .remove(&key(name), -1)
        .await
        .map_err(|e| table_err(name, "remove", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_bad_ones_count_as_expired() {
        let owner = owner_id();
        assert_ne!(owner, owner_id(), "every writer is its own owner");
        let (o, exp) = parse(&value(&owner));
        assert_eq!(o, owner);
        assert!(exp > now_ms() && exp <= now_ms() + LEASE_TTL.as_millis() as u64);
        assert_eq!(parse("someone"), ("someone".to_owned(), 0));
        assert_eq!(parse("someone notanumber").1, 0);
        assert!(
            RENEW_EVERY * 3 < LEASE_TTL,
            "a lease survives two missed renewals"
        );
    }

    #[test]
    fn a_lease_of_a_process_gone_from_this_machine_holds_nothing() {
        let mine = owner_id();
        assert!(!holder_is_gone(&mine), "this process runs");
        assert!(holds(&mine, now_ms() + 10_000));
        // A child that exited: its pid is free now.
        let mut child = std::process::Command::new("true").spawn().expect("spawn true");
        let pid = child.id();
        child.wait().expect("wait");
        let dead = format!("{}:{pid}:1a2b:0", machine());
        assert!(holder_is_gone(&dead));
        assert!(!holds(&dead, now_ms() + 10_000), "not even before it expires");
        // Another machine's writer, or an id of the older format, is judged by its expiry alone.
        assert!(!holder_is_gone(&format!("elsewhere/1:{pid}:1a2b:0")));
        assert!(!holder_is_gone(&format!("oldhost:{pid}:1a2b:0")));
        assert!(!holder_is_gone("someone"));
        assert!(holds("elsewhere/1:1:1:0", now_ms() + 10_000));
        assert!(!holds("elsewhere/1:1:1:0", now_ms().saturating_sub(1)));
    }
}
