//! The engine's one timer: a hashed timing wheel of ticks. Inserting and collecting a due entry
//! cost O(1); an entry further away than one turn stays in its slot until its turn comes.

/// Entries keyed by the tick they are due at. Ticks only move forward.
#[derive(Debug)]
pub struct Wheel<T> {
    slots: Vec<Vec<(u64, T)>>,
    mask: u64,
    /// The last tick collected: everything due at or before it has been handed out.
    now: u64,
    len: usize,
}

impl<T: Copy> Wheel<T> {
    /// A wheel of `slots` slots (rounded up to a power of two), starting at tick 0.
    pub fn new(slots: usize) -> Self {
        let slots = slots.max(2).next_power_of_two();
        Wheel {
            slots: (0..slots).map(|_| Vec::new()).collect(),
            mask: slots as u64 - 1,
            now: 0,
            len: 0,
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The last tick collected.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Schedules `item` at tick `due`; a tick already collected means the next one.
    pub fn insert(&mut self, due: u64, item: T) {
        let due = due.max(self.now + 1);
        self.slots[(due & self.mask) as usize].push((due, item));
        self.len += 1;
    }

    /// Moves to tick `to`, appending every entry due at or before it to `out` (earlier slots
    /// first). A jump longer than one turn visits each slot once.
    pub fn advance(&mut self, to: u64, out: &mut Vec<(u64, T)>) {
        if to <= self.now {
            return;
        }
        let steps = (to - self.now).min(self.slots.len() as u64);
        for tick in self.now + 1..=self.now + steps {
            let slot = &mut self.slots[(tick & self.mask) as usize];
            let mut i = 0;
            while i < slot.len() {
                if slot[i].0 <= to {
                    out.push(slot.swap_remove(i));
                    self.len -= 1;
                } else {
                    i += 1;
                }
            }
        }
        self.now = to;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(wheel: &mut Wheel<u32>, to: u64) -> Vec<u32> {
        let mut out = Vec::new();
        wheel.advance(to, &mut out);
        let mut items: Vec<u32> = out.into_iter().map(|(_, item)| item).collect();
        items.sort();
        items
    }

    #[test]
    fn hands_out_entries_when_their_tick_comes() {
        let mut wheel = Wheel::new(8);
        wheel.insert(3, 30);
        wheel.insert(1, 10);
        wheel.insert(3, 31);
        assert_eq!(wheel.len(), 3);
        assert_eq!(collect(&mut wheel, 0), Vec::<u32>::new());
        assert_eq!(collect(&mut wheel, 2), vec![10]);
        assert_eq!(collect(&mut wheel, 3), vec![30, 31]);
        assert!(wheel.is_empty());
    }

    #[test]
    fn keeps_entries_more_than_one_turn_away_until_their_turn() {
        let mut wheel = Wheel::new(4);
        wheel.insert(2, 2);
        wheel.insert(6, 6); // same slot as 2, one turn later
        wheel.insert(14, 14); // three turns later
        assert_eq!(collect(&mut wheel, 2), vec![2]);
        assert_eq!(collect(&mut wheel, 5), Vec::<u32>::new());
        assert_eq!(collect(&mut wheel, 6), vec![6]);
        assert_eq!(collect(&mut wheel, 13), Vec::<u32>::new());
        assert_eq!(collect(&mut wheel, 14), vec![14]);
    }

    #[test]
    fn a_long_jump_collects_everything_due_once() {
        let mut wheel = Wheel::new(4);
        for due in 1..=20 {
            wheel.insert(due, due as u32);
        }
        assert_eq!(collect(&mut wheel, 17), (1..=17).collect::<Vec<_>>());
        assert_eq!(wheel.len(), 3);
        assert_eq!(collect(&mut wheel, 100), vec![18, 19, 20]);
    }

    #[test]
    fn a_past_tick_is_due_at_the_next_one() {
        let mut wheel = Wheel::new(8);
        assert_eq!(collect(&mut wheel, 5), Vec::<u32>::new());
        wheel.insert(2, 2);
        assert_eq!(wheel.now(), 5);
        assert_eq!(collect(&mut wheel, 6), vec![2]);
    }
}
