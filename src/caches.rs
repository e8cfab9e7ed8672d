//! In-memory caches the application state holds: rendered local actor documents, NodeInfo's
//! usage figures, the blocked servers, remote groups' moderators and local groups' member
//! inboxes. (Parsed keys are cached in `crypto/keys.rs`.) They know nothing of federation;
//! the code that fills them does.

use crate::error::Result;

/// How long a rendered local actor document is served from memory. Remote servers cache actors
/// for hours; ten seconds of staleness after an edit is invisible to them, and it spares the
/// database the most frequent request a group gets.
pub const ACTOR_DOCUMENT_TTL: std::time::Duration = std::time::Duration::from_secs(10);

/// Rendered JSON-LD documents of local actors, by handle.
#[derive(Default)]
pub struct ActorDocumentCache {
    entries:
        std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, bytes::Bytes)>>,
}

impl ActorDocumentCache {
    /// The cached document for `name`, or the one `render` makes (which is then cached).
    pub async fn get_or_render<F, Fut>(&self, name: &str, render: F) -> Result<bytes::Bytes>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<bytes::Bytes>>,
    {
        if let Some((rendered_at, document)) = self.lock().get(name)
            && rendered_at.elapsed() < ACTOR_DOCUMENT_TTL
        {
            return Ok(document.clone());
        }
        let document = render().await?;
        self.lock().insert(
            name.to_string(),
            (std::time::Instant::now(), document.clone()),
        );
        Ok(document)
    }

    /// Forgets `name`'s document: call it after changing a local actor.
    pub fn invalidate(&self, name: &str) {
        self.lock().remove(name);
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<
        '_,
        std::collections::HashMap<String, (std::time::Instant, bytes::Bytes)>,
    > {
        // Inserts and removals leave the map consistent, so a poisoned lock is usable.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// How long NodeInfo's usage figures are served from memory. Counting them reads every local
/// post (and the recent ones' authors): a cost that grows with the instance, which crawlers
/// would pay on every request; the figures are statistics, and ten minutes old is fresh.
pub const USAGE_STATISTICS_TTL: std::time::Duration = std::time::Duration::from_secs(600);

/// NodeInfo's usage figures, counted at most every [`USAGE_STATISTICS_TTL`].
#[derive(Default)]
pub struct UsageStatisticsCache {
    counted: std::sync::Mutex<Option<(std::time::Instant, crate::instance::UsageStatistics)>>,
}

impl UsageStatisticsCache {
    /// The figures counted less than [`USAGE_STATISTICS_TTL`] ago, or those `count` gives now.
    pub async fn get_or_count<F, Fut>(&self, count: F) -> Result<crate::instance::UsageStatistics>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<crate::instance::UsageStatistics>>,
    {
        if let Some((counted_at, usage)) = self.lock().as_ref()
            && counted_at.elapsed() < USAGE_STATISTICS_TTL
        {
            return Ok(usage.clone());
        }
        let usage = count().await?;
        *self.lock() = Some((std::time::Instant::now(), usage.clone()));
        Ok(usage)
    }

    /// Forgets the figures, so the next request counts them (tests that change what is
    /// counted).
    #[cfg(test)]
    pub fn invalidate(&self) {
        *self.lock() = None;
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, Option<(std::time::Instant, crate::instance::UsageStatistics)>>
    {
        // A plain replacement: a poisoned lock holds a whole value or none.
        self.counted
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The blocked hosts, read from the database at most every few seconds, so checking an inbound
/// request costs no query. A block takes effect on every process within that time.
#[derive(Default)]
pub struct BlockedHostsCache {
    loaded: tokio::sync::RwLock<Option<(std::time::Instant, std::collections::BTreeSet<String>)>>,
    /// Counts invalidations, so that a load that began before one is not stored after it.
    generation: std::sync::atomic::AtomicU64,
}

/// How long the cached list of blocked hosts is trusted.
const BLOCKED_HOSTS_TTL: std::time::Duration = std::time::Duration::from_secs(5);

impl BlockedHostsCache {
    /// The cached list, or the one `load` reads (`federation::instances::blocked_hosts`).
    pub async fn get_or_load<Load>(&self, load: Load) -> Result<std::collections::BTreeSet<String>>
    where
        Load: std::future::Future<Output = Result<std::collections::BTreeSet<String>>>,
    {
        if let Some((at, hosts)) = &*self.loaded.read().await
            && at.elapsed() < BLOCKED_HOSTS_TTL
        {
            return Ok(hosts.clone());
        }
        // No lock is held while loading (the caller may hold the database's one SQLite
        // connection, which another loader would wait for). A list read before an
        // `invalidate` is used by this caller but not stored.
        let generation = self.generation.load(std::sync::atomic::Ordering::Acquire);
        let hosts = load.await?;
        let mut loaded = self.loaded.write().await;
        if self.generation.load(std::sync::atomic::Ordering::Acquire) == generation {
            *loaded = Some((std::time::Instant::now(), hosts.clone()));
        }
        Ok(hosts)
    }

    /// Forgets the cached list (after a block in this process).
    pub async fn invalidate(&self) {
        let mut loaded = self.loaded.write().await;
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        *loaded = None;
    }
}

/// Remote groups' moderators as last fetched, kept for a minute.
#[derive(Default)]
pub struct RemoteModeratorsCache {
    fetched: std::sync::Mutex<std::collections::HashMap<i64, (std::time::Instant, Vec<String>)>>,
}

impl RemoteModeratorsCache {
    const FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(60);

    pub fn recent(&self, group_id: i64) -> Option<Vec<String>> {
        let fetched = self.fetched.lock().ok()?;
        let (at, moderators) = fetched.get(&group_id)?;
        (at.elapsed() < Self::FRESH_FOR).then(|| moderators.clone())
    }

    pub fn store(&self, group_id: i64, moderators: Vec<String>) {
        if let Ok(mut fetched) = self.fetched.lock() {
            fetched.retain(|_, (at, _)| at.elapsed() < Self::FRESH_FOR);
            fetched.insert(group_id, (std::time::Instant::now(), moderators));
        }
    }
}

/// Each group's member inboxes as read at one `membership_version` of the group (the
/// database moves the version whenever they may have changed, in every process's sight), so
/// an inbound post reads them only when they changed. One entry per local group that took a
/// post since the process started (about 40 bytes per member server); nothing is dropped, a
/// deleted group's entry included, so it is bounded by the groups the instance hosts.
#[derive(Default)]
pub struct MemberInboxCache {
    entries: std::sync::Mutex<KeptMemberInboxes>,
}

/// By group id: the `membership_version` read at, and the inboxes.
type KeptMemberInboxes =
    std::collections::HashMap<i64, (i64, std::sync::Arc<std::collections::BTreeSet<String>>)>;

impl MemberInboxCache {
    /// The inboxes kept for `group_id` at `version`, or those `read` gives (which are kept,
    /// unless a newer version was kept meanwhile).
    pub async fn get_or_read<Read>(
        &self,
        group_id: i64,
        version: i64,
        read: Read,
    ) -> Result<std::sync::Arc<std::collections::BTreeSet<String>>>
    where
        Read: std::future::Future<Output = Result<std::collections::BTreeSet<String>>>,
    {
        if let Some((kept_version, inboxes)) = self.lock().get(&group_id)
            && *kept_version == version
        {
            return Ok(inboxes.clone());
        }
        // Read without the lock held. What is read is at least as new as `version` (the
        // caller read the version first), so keeping it under `version` is sound.
        let inboxes = std::sync::Arc::new(read.await?);
        let mut entries = self.lock();
        if entries
            .get(&group_id)
            .is_none_or(|(kept_version, _)| *kept_version < version)
        {
            entries.insert(group_id, (version, inboxes.clone()));
        }
        Ok(inboxes)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, KeptMemberInboxes> {
        // Inserts leave the map consistent, so a poisoned lock is usable.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[tokio::test]
    async fn actor_documents_are_rendered_once_until_invalidated() {
        let cache = ActorDocumentCache::default();
        let renders = std::sync::atomic::AtomicUsize::new(0);
        let render = || async {
            renders.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(bytes::Bytes::from_static(b"{}"))
        };
        cache.get_or_render("repair", render).await.unwrap();
        cache.get_or_render("repair", render).await.unwrap();
        assert_eq!(renders.load(std::sync::atomic::Ordering::SeqCst), 1);
        cache.invalidate("repair");
        cache.get_or_render("repair", render).await.unwrap();
        assert_eq!(renders.load(std::sync::atomic::Ordering::SeqCst), 2);
        // A failed render is not cached.
        let failing = cache
            .get_or_render("nobody", || async { Err(Error::not_found("group")) })
            .await;
        assert!(failing.is_err());
        assert!(cache.lock().get("nobody").is_none());
    }
}
