//! The Wing & Gong linearizability search with Lowe's memoization (the algorithm of Knossos'
//! `wgl` and of Porcupine), over any sequential model.
//!
//! Calls and returns are entries of one doubly linked list in time order. The search repeatedly
//! linearizes a call that precedes the first remaining return (an op minimal in real time),
//! lifting it and its return out of the list; on reaching a return whose op is not linearized it
//! backtracks. A cache of (set of linearized ops, model state) pairs prunes every configuration
//! already explored, which is what makes the search practical. Ops whose outcome is unknown
//! return "at infinity": once only they remain, the rest may simply never have taken effect.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::time::Instant;

/// A sequential specification: the state and how one op changes it, if that op can happen.
pub trait Model {
    type State: Clone + Eq + Hash;
    /// An op with its input and (when known) output.
    type Op;
    fn init(&self) -> Self::State;
    /// The state after `op`, or `None` if `op` (with its observed output) is impossible in `state`.
    fn step(&self, state: &Self::State, op: &Self::Op) -> Option<Self::State>;
}

/// One op of a single object's history.
#[derive(Clone, Debug)]
pub struct Call<O> {
    pub op: O,
    pub call: u64,
    /// `None`: the outcome is unknown; the op may take effect at any time after `call`, or never.
    pub ret: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome<S> {
    Linearizable,
    NotLinearizable(Counterexample<S>),
    /// The deadline passed first.
    Unknown {
        explored: u64,
    },
}

/// Where the search got stuck on its deepest path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counterexample<S> {
    /// The longest linearization found, as indices into the calls, in order.
    pub prefix: Vec<usize>,
    /// The state after that prefix.
    pub state: S,
    /// The op whose return was reached without being able to linearize it.
    pub stuck: usize,
}

/// How many search steps between two looks at the clock.
const DEADLINE_CHECK_EVERY: u64 = 1024;

const HEAD: usize = 0;

/// Decides whether `calls` (one object's history) is linearizable, giving up at `deadline`.
pub fn check<M: Model>(model: &M, calls: &[Call<M::Op>], deadline: Instant) -> Outcome<M::State> {
    let mut list = EntryList::new(calls);
    let mut state = model.init();
    let mut linearized = Bits::new(calls.len());
    let mut cache: HashSet<(Bits, M::State)> = HashSet::new();
    let mut stack: Vec<(usize, M::State)> = Vec::new();
    let mut deepest: Option<Counterexample<M::State>> = None;
    let mut steps: u64 = 0;
    let mut e = list.next[HEAD];
    while e != list.tail {
        steps += 1;
        if steps.is_multiple_of(DEADLINE_CHECK_EVERY) && Instant::now() >= deadline {
            return Outcome::Unknown { explored: steps };
        }
        let op = list.op[e];
        if !list.is_return[e] {
            if let Some(next_state) = model.step(&state, &calls[op].op) {
                linearized.set(op);
                if cache.insert((linearized.clone(), next_state.clone())) {
                    stack.push((op, std::mem::replace(&mut state, next_state)));
                    list.lift(e);
                    e = list.next[HEAD];
                    continue;
                }
                linearized.clear(op);
            }
            e = list.next[e];
            continue;
        }
        if calls[op].ret.is_none() {
            // Every op with a known return is linearized; the unknown rest never took effect.
            return Outcome::Linearizable;
        }
        if deepest
            .as_ref()
            .is_none_or(|d| stack.len() > d.prefix.len())
        {
            deepest = Some(Counterexample {
                prefix: stack.iter().map(|(op, _)| *op).collect(),
                state: state.clone(),
                stuck: op,
            });
        }
        let Some((top, before)) = stack.pop() else {
            let counterexample = deepest.expect("recorded just above when the stack is empty");
            return Outcome::NotLinearizable(counterexample);
        };
        state = before;
        linearized.clear(top);
        let call_entry = list.call_entry[top];
        list.unlift(call_entry);
        e = list.next[call_entry];
    }
    Outcome::Linearizable
}

/// Calls and returns in time order (calls first at equal times: intervals are closed), as an
/// arena-backed doubly linked list between a head (0) and a tail sentinel.
struct EntryList {
    next: Vec<usize>,
    prev: Vec<usize>,
    op: Vec<usize>,
    is_return: Vec<bool>,
    call_entry: Vec<usize>,
    return_entry: Vec<usize>,
    tail: usize,
}

impl EntryList {
    fn new<O>(calls: &[Call<O>]) -> EntryList {
        let mut events: Vec<(u64, bool, usize)> = Vec::with_capacity(calls.len() * 2);
        for (i, c) in calls.iter().enumerate() {
            events.push((c.call, false, i));
            events.push((c.ret.map_or(u64::MAX, |r| r.max(c.call)), true, i));
        }
        events.sort_by_key(|&(time, is_return, _)| (time, is_return));
        let tail = events.len() + 1;
        let mut list = EntryList {
            next: (1..=tail).chain([tail]).collect(),
            prev: [HEAD].into_iter().chain(0..tail).collect(),
            op: vec![usize::MAX; tail + 1],
            is_return: vec![false; tail + 1],
            call_entry: vec![0; calls.len()],
            return_entry: vec![0; calls.len()],
            tail,
        };
        for (i, &(_, is_return, op)) in events.iter().enumerate() {
            let entry = i + 1;
            list.op[entry] = op;
            list.is_return[entry] = is_return;
            if is_return {
                list.return_entry[op] = entry;
            } else {
                list.call_entry[op] = entry;
            }
        }
        list
    }

    fn unlink(&mut self, e: usize) {
        let (p, n) = (self.prev[e], self.next[e]);
        self.next[p] = n;
        self.prev[n] = p;
    }

    /// Puts back an entry unlinked last; its own links still name its old neighbours.
    fn relink(&mut self, e: usize) {
        let (p, n) = (self.prev[e], self.next[e]);
        self.next[p] = e;
        self.prev[n] = e;
    }

    fn lift(&mut self, call_entry: usize) {
        let ret = self.return_entry[self.op[call_entry]];
        self.unlink(call_entry);
        self.unlink(ret);
    }

    fn unlift(&mut self, call_entry: usize) {
        let ret = self.return_entry[self.op[call_entry]];
        self.relink(ret);
        self.relink(call_entry);
    }
}

/// A set of op indices with an incrementally maintained hash (xor of a fixed random word per
/// member), so that caching a configuration does not rehash the whole set.
#[derive(Clone, Debug)]
struct Bits {
    words: Vec<u64>,
    hash: u64,
}

impl Bits {
    fn new(n: usize) -> Bits {
        Bits {
            words: vec![0; n.div_ceil(64)],
            hash: 0,
        }
    }

    fn set(&mut self, i: usize) {
        self.words[i / 64] |= 1 << (i % 64);
        self.hash ^= member_hash(i);
    }

    fn clear(&mut self, i: usize) {
        self.words[i / 64] &= !(1 << (i % 64));
        self.hash ^= member_hash(i);
    }
}

impl PartialEq for Bits {
    fn eq(&self, other: &Bits) -> bool {
        self.words == other.words
    }
}

impl Eq for Bits {}

impl Hash for Bits {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.hash);
    }
}

/// splitmix64 of the index: a well-spread word per member, the same on every run.
fn member_hash(i: usize) -> u64 {
    let mut z = (i as u64)
        .wrapping_add(1)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A counter that only increments; a read must see the exact count.
    struct Counter;

    #[derive(Clone, Copy)]
    enum CounterOp {
        Incr,
        Read(u32),
    }

    impl Model for Counter {
        type State = u32;
        type Op = CounterOp;
        fn init(&self) -> u32 {
            0
        }
        fn step(&self, state: &u32, op: &CounterOp) -> Option<u32> {
            match op {
                CounterOp::Incr => Some(state + 1),
                CounterOp::Read(v) => (v == state).then_some(*state),
            }
        }
    }

    fn call(op: CounterOp, call: u64, ret: Option<u64>) -> Call<CounterOp> {
        Call { op, call, ret }
    }

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    #[test]
    fn an_empty_history_is_linearizable() {
        assert_eq!(check(&Counter, &[], far()), Outcome::Linearizable);
    }

    #[test]
    fn concurrent_ops_may_take_effect_in_either_order() {
        use CounterOp::*;
        // A read overlapping an increment may see it or not.
        let h = [
            call(Incr, 0, Some(10)),
            call(Read(1), 5, Some(6)),
            call(Read(1), 11, Some(12)),
        ];
        assert_eq!(check(&Counter, &h, far()), Outcome::Linearizable);
        let h = [call(Incr, 0, Some(10)), call(Read(0), 5, Some(6))];
        assert_eq!(check(&Counter, &h, far()), Outcome::Linearizable);
    }

    #[test]
    fn real_time_order_is_enforced_and_the_deepest_prefix_reported() {
        use CounterOp::*;
        // The increment finished before the second read began: reading 0 again is stale.
        let h = [
            call(Read(0), 0, Some(1)),
            call(Incr, 2, Some(3)),
            call(Read(0), 4, Some(5)),
        ];
        let Outcome::NotLinearizable(c) = check(&Counter, &h, far()) else {
            panic!("a stale read must not linearize");
        };
        assert_eq!(c.prefix, vec![0, 1]);
        assert_eq!(c.state, 1);
        assert_eq!(c.stuck, 2);
    }

    #[test]
    fn unknown_ops_may_apply_late_or_never() {
        use CounterOp::*;
        let applied_late = [
            call(Incr, 0, None),
            call(Read(0), 1, Some(2)),
            call(Read(1), 100, Some(101)),
        ];
        assert_eq!(check(&Counter, &applied_late, far()), Outcome::Linearizable);
        let never = [call(Incr, 0, None), call(Read(0), 100, Some(101))];
        assert_eq!(check(&Counter, &never, far()), Outcome::Linearizable);
        let twice = [call(Incr, 0, None), call(Read(2), 100, Some(101))];
        assert!(matches!(
            check(&Counter, &twice, far()),
            Outcome::NotLinearizable(_)
        ));
    }

    #[test]
    fn lifting_and_unlifting_restore_the_list() {
        let h = [
            call(CounterOp::Incr, 0, Some(1)),
            call(CounterOp::Incr, 0, Some(5)),
            call(CounterOp::Incr, 2, None),
        ];
        let mut list = EntryList::new(&h);
        let before = (list.next.clone(), list.prev.clone());
        let (a, b) = (list.call_entry[0], list.call_entry[2]);
        list.lift(a);
        list.lift(b);
        assert_eq!(list.next[HEAD], list.call_entry[1]);
        list.unlift(b);
        list.unlift(a);
        assert_eq!((list.next.clone(), list.prev.clone()), before);
    }

    #[test]
    fn member_hashes_keep_equal_sets_equal() {
        let mut a = Bits::new(130);
        let mut b = Bits::new(130);
        a.set(3);
        a.set(129);
        b.set(129);
        b.set(7);
        b.set(3);
        b.clear(7);
        assert_eq!(a, b);
        assert_eq!(a.hash, b.hash);
        b.clear(129);
        assert_ne!(a, b);
    }
}
