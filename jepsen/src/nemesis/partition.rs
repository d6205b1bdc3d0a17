//! Partitions as grudges: which directed links to cut, from which components or ring. Pure.

use crate::cluster::NodeId;
use std::collections::BTreeSet;

/// A directed link between two nodes: `from` can no longer reach `to`.
pub type Cut = (NodeId, NodeId);

/// Every link between nodes of different components, both ways.
pub fn complete(components: &[Vec<NodeId>]) -> Vec<Cut> {
    let mut cuts = Vec::new();
    for (i, a) in components.iter().enumerate() {
        for (j, b) in components.iter().enumerate() {
            if i != j {
                for &from in a {
                    for &to in b {
                        cuts.push((from, to));
                    }
                }
            }
        }
    }
    cuts.sort_unstable();
    cuts
}

/// `one` alone, the others together.
pub fn isolate(one: NodeId, ids: &[NodeId]) -> Vec<Vec<NodeId>> {
    let rest: Vec<NodeId> = ids.iter().copied().filter(|&i| i != one).collect();
    vec![vec![one], rest]
}

/// The first half (rounded down: the minority) against the rest.
pub fn halves(shuffled: &[NodeId]) -> Vec<Vec<NodeId>> {
    let (a, b) = shuffled.split_at(shuffled.len() / 2);
    vec![a.to_vec(), b.to_vec()]
}

/// Jepsen's majorities ring: nodes in a ring, each hears only the majority of nodes centred on
/// itself, so every node sees a majority but no two see the same one. (On three nodes each node
/// hears one other, a near-total split under TCP.)
pub fn majorities_ring(ring: &[NodeId]) -> Vec<Cut> {
    let n = ring.len();
    let majority = n / 2 + 1;
    let mut cuts = Vec::new();
    for (pos, &to) in ring.iter().enumerate() {
        let hears: BTreeSet<NodeId> = (0..majority)
            .map(|k| ring[(pos + n + k - majority / 2) % n])
            .collect();
        for &from in ring {
            if !hears.contains(&from) {
                cuts.push((from, to));
            }
        }
    }
    cuts.sort_unstable();
    cuts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isolating_one_node_cuts_it_both_ways() {
        let cuts = complete(&isolate(2, &[1, 2, 3]));
        assert_eq!(cuts, vec![(1, 2), (2, 1), (2, 3), (3, 2)]);
    }

    #[test]
    fn halves_put_the_minority_first() {
        assert_eq!(halves(&[4, 1, 5, 2, 3]), vec![vec![4, 1], vec![5, 2, 3]]);
        assert_eq!(complete(&halves(&[3, 1, 2])).len(), 4);
    }

    #[test]
    fn every_node_of_a_ring_hears_a_distinct_majority() {
        for ring in [vec![1, 2, 3, 4, 5], vec![3, 5, 1, 4, 2], vec![2, 1, 3]] {
            let cuts = majorities_ring(&ring);
            let n = ring.len();
            let mut heard = Vec::new();
            for &to in &ring {
                let hears: BTreeSet<NodeId> = ring
                    .iter()
                    .copied()
                    .filter(|&from| !cuts.contains(&(from, to)))
                    .collect();
                assert!(hears.contains(&to), "a node always hears itself");
                assert_eq!(hears.len(), n / 2 + 1, "{to} in {ring:?} hears {hears:?}");
                heard.push(hears);
            }
            heard.sort();
            heard.dedup();
            assert_eq!(heard.len(), n, "majorities differ in {ring:?}");
        }
    }
}
