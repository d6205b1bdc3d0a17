//! A group change's deployment plan, as Marathon's `DeploymentPlan` orders it: first stop the
//! apps that go, then start the apps that are new, then one step per dependency layer (an app's
//! layer is the length of its longest dependency path, so an app comes after everything it
//! depends on), scaling new and scaled apps and restarting reconfigured ones.
//!
//! One difference: Marathon starts every new app at zero instances; the leader's controller
//! converges an app to its `instances` as soon as the app has a current action, so a new app
//! that depends on others gets no StartApplication (it would launch before its dependencies)
//! and waits for its ScaleApplication instead. Pure: the dependency graph comes in as a
//! function.

use super::super::deploy::AppChange;
use super::super::model::{DeploymentAction, DeploymentStep};
use super::super::path::PathId;
use std::collections::BTreeMap;

/// What the change does to one app, and the app's instances after it.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Change {
    pub app: PathId,
    pub kind: AppChange,
    pub instances: u32,
}

/// A dependency cycle, as the apps along it (the first repeated at the end).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cycle(pub Vec<PathId>);

impl std::fmt::Display for Cycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path: Vec<&str> = self.0.iter().map(PathId::as_str).collect();
        write!(
            f,
            "Dependency graph has cyclic dependencies: {}",
            path.join(" -> ")
        )
    }
}

/// The longest dependency path from each app reached from `starts` (in edges), where
/// `depends_on(app)` lists the apps `app` depends on. A cycle reachable from `starts` is an
/// error naming it.
pub(super) fn layers(
    starts: &[PathId],
    depends_on: &dyn Fn(&PathId) -> Vec<PathId>,
) -> Result<BTreeMap<PathId, usize>, Cycle> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Visiting,
        Done(usize),
    }
    let mut marks: BTreeMap<PathId, Mark> = BTreeMap::new();
    // Iterative depth-first search: (app, its dependencies, next one to visit).
    for start in starts {
        if marks.contains_key(start) {
            continue;
        }
        let mut stack: Vec<(PathId, Vec<PathId>, usize)> =
            vec![(start.clone(), depends_on(start), 0)];
        marks.insert(start.clone(), Mark::Visiting);
        while let Some((app, deps, next)) = stack.last_mut() {
            if let Some(dep) = deps.get(*next).cloned() {
                *next += 1;
                match marks.get(&dep) {
                    Some(Mark::Done(_)) => {}
                    Some(Mark::Visiting) => {
                        let from = stack.iter().position(|(a, _, _)| *a == dep).unwrap_or(0);
                        let mut cycle: Vec<PathId> =
                            stack[from..].iter().map(|(a, _, _)| a.clone()).collect();
                        cycle.push(dep);
                        return Err(Cycle(cycle));
                    }
                    None => {
                        marks.insert(dep.clone(), Mark::Visiting);
                        let deps = depends_on(&dep);
                        stack.push((dep, deps, 0));
                    }
                }
            } else {
                let depth = deps
                    .iter()
                    .map(|d| match marks.get(d) {
                        Some(Mark::Done(n)) => n + 1,
                        _ => 0,
                    })
                    .max()
                    .unwrap_or(0);
                marks.insert(app.clone(), Mark::Done(depth));
                stack.pop();
            }
        }
    }
    Ok(marks
        .into_iter()
        .filter_map(|(app, mark)| match mark {
            Mark::Done(n) => Some((app, n)),
            Mark::Visiting => None,
        })
        .collect())
}

/// The steps of a change. `depends_on` is the dependency graph after the change.
pub(super) fn steps(
    changes: &[Change],
    depends_on: &dyn Fn(&PathId) -> Vec<PathId>,
) -> Result<Vec<DeploymentStep>, Cycle> {
    let stops: Vec<DeploymentAction> = changes
        .iter()
        .filter(|c| c.kind == AppChange::Deleted)
        .map(|c| DeploymentAction::StopApplication { app: c.app.clone() })
        .collect();
    let deployed: Vec<&Change> = changes
        .iter()
        .filter(|c| !matches!(c.kind, AppChange::Deleted | AppChange::Unchanged))
        .collect();
    let apps: Vec<PathId> = deployed.iter().map(|c| c.app.clone()).collect();
    let depth = layers(&apps, depends_on)?;
    let starts: Vec<DeploymentAction> = changes
        .iter()
        .filter(|c| c.kind == AppChange::Created && depth.get(&c.app).is_none_or(|d| *d == 0))
        .map(|c| DeploymentAction::StartApplication { app: c.app.clone() })
        .collect();
    let mut by_layer: BTreeMap<usize, Vec<DeploymentAction>> = BTreeMap::new();
    for c in deployed {
        let app = c.app.clone();
        let action = match c.kind {
            AppChange::Created | AppChange::Scaled => DeploymentAction::ScaleApplication {
                app,
                instances: c.instances,
            },
            AppChange::Reconfigured => DeploymentAction::RestartApplication { app },
            AppChange::Deleted | AppChange::Unchanged => continue,
        };
        let layer = depth.get(&c.app).copied().unwrap_or(0);
        by_layer.entry(layer).or_default().push(action);
    }
    Ok([stops, starts]
        .into_iter()
        .chain(by_layer.into_values())
        .filter(|actions| !actions.is_empty())
        .map(|actions| DeploymentStep { actions })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> PathId {
        PathId::parse(s, None).expect("test path")
    }

    fn graph(edges: &[(&str, &[&str])]) -> impl Fn(&PathId) -> Vec<PathId> {
        let map: BTreeMap<PathId, Vec<PathId>> = edges
            .iter()
            .map(|(a, ds)| (p(a), ds.iter().map(|d| p(d)).collect()))
            .collect();
        move |app| map.get(app).cloned().unwrap_or_default()
    }

    fn change(app: &str, kind: AppChange, instances: u32) -> Change {
        Change {
            app: p(app),
            kind,
            instances,
        }
    }

    fn names(steps: &[DeploymentStep]) -> Vec<Vec<String>> {
        steps
            .iter()
            .map(|s| {
                s.actions
                    .iter()
                    .map(|a| format!("{} {}", a.name(), a.app()))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn layers_follow_the_longest_dependency_path() {
        // web -> api -> db, web -> db, cache alone.
        let g = graph(&[("/web", &["/api", "/db"]), ("/api", &["/db"]), ("/db", &[])]);
        let got = layers(&[p("/web"), p("/cache")], &g).expect("no cycle");
        let want: BTreeMap<PathId, usize> = [("/web", 2), ("/api", 1), ("/db", 0), ("/cache", 0)]
            .into_iter()
            .map(|(a, n)| (p(a), n))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_cycle_is_named() {
        let g = graph(&[("/a", &["/b"]), ("/b", &["/c"]), ("/c", &["/a"])]);
        let cycle = layers(&[p("/a")], &g).expect_err("a cycle");
        assert_eq!(cycle.0, vec![p("/a"), p("/b"), p("/c"), p("/a")]);
        assert!(cycle.to_string().contains("/a -> /b -> /c -> /a"));
        // A cycle not reachable from the changed apps is not this change's concern.
        assert!(layers(&[p("/d")], &g).is_ok());
        // Self-dependency is a cycle too.
        let g = graph(&[("/a", &["/a"])]);
        assert!(layers(&[p("/a")], &g).is_err());
    }

    #[test]
    fn steps_table() {
        let g = graph(&[("/g/web", &["/g/db"]), ("/g/db", &[])]);
        let cases: Vec<(Vec<Change>, Vec<Vec<&str>>)> = vec![
            (
                // A new group: start db, then db before web (web waits for its scale step).
                vec![
                    change("/g/db", AppChange::Created, 1),
                    change("/g/web", AppChange::Created, 2),
                    change("/g/solo", AppChange::Created, 1),
                ],
                vec![
                    vec!["StartApplication /g/db", "StartApplication /g/solo"],
                    vec!["ScaleApplication /g/db", "ScaleApplication /g/solo"],
                    vec!["ScaleApplication /g/web"],
                ],
            ),
            (
                // Only the dependent changes: one step, whatever it depends on.
                vec![
                    change("/g/db", AppChange::Unchanged, 1),
                    change("/g/web", AppChange::Reconfigured, 2),
                ],
                vec![vec!["RestartApplication /g/web"]],
            ),
            (
                // Deleted apps stop first; scaled ones scale in their layer.
                vec![
                    change("/g/old", AppChange::Deleted, 0),
                    change("/g/db", AppChange::Scaled, 3),
                    change("/g/web", AppChange::Reconfigured, 2),
                ],
                vec![
                    vec!["StopApplication /g/old"],
                    vec!["ScaleApplication /g/db"],
                    vec!["RestartApplication /g/web"],
                ],
            ),
            (vec![change("/g/db", AppChange::Unchanged, 1)], vec![]),
        ];
        for (changes, want) in cases {
            let got = steps(&changes, &g).expect("no cycle");
            assert_eq!(names(&got), want, "{changes:?}");
        }
    }

    /// Whether the graph over `0..n` has a cycle (Kahn's algorithm leaves nodes unsorted).
    fn has_cycle(n: usize, edges: &[(usize, usize)]) -> bool {
        let mut indegree = vec![0; n];
        for &(_, to) in edges {
            indegree[to] += 1;
        }
        let mut ready: Vec<usize> = (0..n).filter(|&i| indegree[i] == 0).collect();
        let mut sorted = 0;
        while let Some(node) = ready.pop() {
            sorted += 1;
            for &(from, to) in edges {
                if from == node {
                    indegree[to] -= 1;
                    if indegree[to] == 0 {
                        ready.push(to);
                    }
                }
            }
        }
        sorted < n
    }

    proptest::proptest! {
        /// Every app lands in a later layer than everything it depends on, and a graph is
        /// refused exactly when it has a cycle.
        #[test]
        fn layers_respect_every_dependency(
            n in 1usize..9,
            raw in proptest::collection::vec((0usize..9, 0usize..9), 0..20),
        ) {
            let edges: Vec<(usize, usize)> =
                raw.into_iter().filter(|(a, b)| *a < n && *b < n).collect();
            let name = |i: usize| p(&format!("/a{i}"));
            let g = |app: &PathId| -> Vec<PathId> {
                edges
                    .iter()
                    .filter(|(from, _)| name(*from) == *app)
                    .map(|(_, to)| name(*to))
                    .collect()
            };
            let all: Vec<PathId> = (0..n).map(name).collect();
            match layers(&all, &g) {
                Ok(depth) => {
                    proptest::prop_assert!(!has_cycle(n, &edges));
                    for (from, to) in &edges {
                        proptest::prop_assert!(depth[&name(*from)] > depth[&name(*to)]);
                    }
                }
                Err(cycle) => {
                    proptest::prop_assert!(has_cycle(n, &edges));
                    proptest::prop_assert_eq!(cycle.0.first(), cycle.0.last());
                }
            }
        }
    }

    #[test]
    fn scale_actions_carry_the_new_instances() {
        let g = graph(&[]);
        let got = steps(&[change("/a", AppChange::Scaled, 7)], &g).expect("no cycle");
        assert_eq!(
            got[0].actions,
            vec![DeploymentAction::ScaleApplication {
                app: p("/a"),
                instances: 7
            }]
        );
    }
}
