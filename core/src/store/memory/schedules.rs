//! The memory store's schedules.

use super::Inner;
use crate::schedule::Schedule;

impl Inner {
    pub(super) fn put_schedule(&mut self, s: &Schedule) -> Schedule {
        let mut s = s.clone();
        s.next_tick_ms = None;
        if let Some(old) = self.schedules.get(&s.name) {
            s.created_ms = old.created_ms;
        }
        self.schedules.insert(s.name.clone(), s.clone());
        s
    }

    pub(super) fn advance_schedule(&mut self, name: &str, from_ms: u64, to_ms: u64) -> bool {
        match self.schedules.get_mut(name) {
            Some(s) if s.last_tick_ms == Some(from_ms) => {
                s.last_tick_ms = Some(to_ms);
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::schedule::{Schedule, ScheduleOptions};
    use crate::spec::JobSpec;
    use crate::store::{JobStore, MemoryStore};

    /// Upsert (keeping `created_ms`), compare-and-set of the last tick,
    /// listing by name, delete: the same in each store.
    async fn check(store: &dyn JobStore) {
        let mut a = Schedule::new("b-sched", "*/2 * * * * *", JobSpec::from_prompt("x"), ScheduleOptions::default()).unwrap();
        a.last_tick_ms = Some(1_000);
        a.created_ms = 5;
        let stored = store.put_schedule(&a).await.unwrap();
        assert_eq!((stored.next_tick_ms, stored.created_ms), (None, 5));
        let mut again = a.clone();
        again.created_ms = 9;
        again.cron = "* * * * *".into();
        assert_eq!(store.put_schedule(&again).await.unwrap().created_ms, 5);
        let other = Schedule::new("a-sched", "@hourly", JobSpec::from_prompt("y"), ScheduleOptions::default()).unwrap();
        store.put_schedule(&other).await.unwrap();
        let names: Vec<String> = store.schedules().await.unwrap().into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["a-sched", "b-sched"]);
        assert!(store.advance_schedule("b-sched", 1_000, 2_000).await.unwrap());
        assert!(!store.advance_schedule("b-sched", 1_000, 4_000).await.unwrap());
        assert!(!store.advance_schedule("nope", 0, 1).await.unwrap());
        let b = store.schedules().await.unwrap().pop().unwrap();
        assert_eq!((b.last_tick_ms, b.cron.as_str(), b.spec.prompt.as_str()), (Some(2_000), "* * * * *", "x"));
        assert!(store.delete_schedule("b-sched").await.unwrap());
        assert!(!store.delete_schedule("b-sched").await.unwrap());
        assert_eq!(store.schedules().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn memory_store_schedules() {
        check(&MemoryStore::new()).await;
    }

    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn sqlite_store_schedules() {
        let dir = tempfile::tempdir().unwrap();
        check(&crate::store::SqliteStore::open(&dir.path().join("s.db")).await.unwrap()).await;
    }
}
