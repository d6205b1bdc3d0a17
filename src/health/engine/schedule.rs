//! The engine's schedule: every target in a slab, and one timer wheel of their next due times.
//! Slots are reused; a generation per slot makes stale wheel entries and finished probes of a
//! removed target harmless.

use super::super::probe::Spec;
use super::super::wheel::Wheel;
use super::super::{Target, TargetKey};
use crate::state::app::HealthCheck;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A target's place in the slab, valid while its generation matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SlotRef {
    index: u32,
    generation: u32,
}

#[derive(Debug)]
struct Slot {
    generation: u32,
    scheduled: Option<Scheduled>,
}

#[derive(Debug)]
struct Scheduled {
    target: Target,
    spec: Arc<Spec>,
    interval: Duration,
    /// When the next probe is due.
    due: Instant,
    /// A probe is waiting for the budget or running: a round that comes due meanwhile is skipped.
    busy: bool,
}

pub(crate) struct Schedule {
    origin: Instant,
    tick_nanos: u64,
    wheel: Wheel<SlotRef>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    index: HashMap<TargetKey, u32>,
    scratch: Vec<(u64, SlotRef)>,
}

impl Schedule {
    pub fn new(origin: Instant, tick: Duration, wheel_slots: usize) -> Self {
        Schedule {
            origin,
            tick_nanos: u64::try_from(tick.as_nanos()).unwrap_or(u64::MAX).max(1),
            wheel: Wheel::new(wheel_slots),
            slots: Vec::new(),
            free: Vec::new(),
            index: HashMap::new(),
            scratch: Vec::new(),
        }
    }

    /// Targets scheduled.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Nothing in the wheel: no tick needs to run.
    pub fn is_idle(&self) -> bool {
        self.wheel.is_empty()
    }

    /// The instant of the first tick not yet collected.
    pub fn next_tick(&self) -> Instant {
        self.origin + Duration::from_nanos(self.tick_nanos.saturating_mul(self.wheel.now() + 1))
    }

    fn ticks(&self, at: Instant, round_up: bool) -> u64 {
        let nanos =
            u64::try_from(at.saturating_duration_since(self.origin).as_nanos()).unwrap_or(u64::MAX);
        if round_up {
            nanos.div_ceil(self.tick_nanos)
        } else {
            nanos / self.tick_nanos
        }
    }

    /// Adds a target, or replaces a changed one; an unchanged target keeps its schedule.
    pub fn upsert(&mut self, target: Target, spec: Spec, now: Instant) {
        if let Some(&index) = self.index.get(&target.key) {
            let slot = &self.slots[index as usize];
            if slot.scheduled.as_ref().is_some_and(|s| s.target == target) {
                return;
            }
            self.remove(&target.key);
        }
        let due = now + first_delay(&target.key, &target.check);
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    scheduled: None,
                });
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 targets")
            }
        };
        let slot = &mut self.slots[index as usize];
        let slot_ref = SlotRef {
            index,
            generation: slot.generation,
        };
        self.index.insert(target.key.clone(), index);
        slot.scheduled = Some(Scheduled {
            interval: interval_of(&target.check),
            target,
            spec: Arc::new(spec),
            due,
            busy: false,
        });
        let tick = self.ticks(due, true);
        self.wheel.insert(tick, slot_ref);
    }

    pub fn remove(&mut self, key: &TargetKey) {
        if let Some(index) = self.index.remove(key) {
            let slot = &mut self.slots[index as usize];
            slot.scheduled = None;
            slot.generation = slot.generation.wrapping_add(1);
            self.free.push(index);
        }
    }

    fn get_mut(&mut self, slot: SlotRef) -> Option<&mut Scheduled> {
        let entry = self.slots.get_mut(slot.index as usize)?;
        if entry.generation != slot.generation {
            return None;
        }
        entry.scheduled.as_mut()
    }

    /// How to probe the target, if it is still scheduled.
    pub fn spec(&self, slot: SlotRef) -> Option<Arc<Spec>> {
        let entry = self.slots.get(slot.index as usize)?;
        if entry.generation != slot.generation {
            return None;
        }
        entry.scheduled.as_ref().map(|s| s.spec.clone())
    }

    /// A probe of `slot` finished: the target may be probed again. Its key, if still scheduled.
    pub fn finished(&mut self, slot: SlotRef) -> Option<TargetKey> {
        let scheduled = self.get_mut(slot)?;
        scheduled.busy = false;
        Some(scheduled.target.key.clone())
    }

    /// Collects the targets due by `now` into `out` as (slot, instant it was due, whether its
    /// previous probe is still busy), and schedules their next round.
    pub fn collect_due(&mut self, now: Instant, out: &mut Vec<(SlotRef, Instant, bool)>) {
        let to = self.ticks(now, false);
        let mut due = std::mem::take(&mut self.scratch);
        self.wheel.advance(to, &mut due);
        for (_, slot) in due.drain(..) {
            let Some(scheduled) = self.get_mut(slot) else {
                continue; // removed or replaced
            };
            let fired = scheduled.due;
            let mut next = fired + scheduled.interval;
            if next <= now {
                // Rounds missed while the engine was held up are skipped, not run in a burst.
                let behind = now.duration_since(fired).as_nanos();
                let rounds = behind / scheduled.interval.as_nanos() + 1;
                next = fired + scheduled.interval * u32::try_from(rounds).unwrap_or(u32::MAX);
            }
            scheduled.due = next;
            let overlapping = scheduled.busy;
            scheduled.busy = true;
            out.push((slot, fired, overlapping));
            let tick = self.ticks(next, true);
            self.wheel.insert(tick, slot);
        }
        self.scratch = due;
    }
}

/// Longer than any schedule means: seconds from a client are capped here, so adding them to
/// an `Instant` cannot overflow.
const LONGEST: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

fn seconds(n: u64) -> Duration {
    Duration::from_secs(n).min(LONGEST)
}

fn interval_of(check: &HealthCheck) -> Duration {
    seconds(check.interval_seconds.max(1))
}

/// When the first probe of a target is due after it is scheduled: `delaySeconds`, plus a
/// jitter within one interval that depends only on the target, so that targets scheduled
/// together (a new leader's thousands) spread over the interval, and land in the same place
/// on every leader.
pub(crate) fn first_delay(key: &TargetKey, check: &HealthCheck) -> Duration {
    let interval_ms = interval_of(check).as_millis() as u64;
    let jitter = stable_hash(key) % interval_ms;
    seconds(check.delay_seconds) + Duration::from_millis(jitter)
}

/// FNV-1a over the key: the same on every node and every run (unlike std's `RandomState`).
fn stable_hash(key: &TargetKey) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let bytes = key
        .instance
        .as_str()
        .bytes()
        .chain(key.check_index.to_le_bytes());
    for byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}
