//! Every constraint operator on every kind of field, against existing instances and against
//! instances placed earlier in the same round.

use super::*;
use crate::state::ids::TaskId;
use crate::state::model::{Condition, ObservedStatus};
use std::collections::BTreeMap;

/// An agent from a spec: `host [name:text;name:=scalar] [@region/zone]`.
fn spec(s: &str) -> Offer {
    let mut tokens = s.split_whitespace();
    let mut o = agent(tokens.next().expect("a hostname"), "");
    for token in tokens {
        if let Some(domain) = token.strip_prefix('@') {
            let (region, zone) = domain.split_once('/').expect("@region/zone");
            o = in_domain(o, region, zone);
            continue;
        }
        for attr in token.split(';') {
            let (name, value) = attr.split_once(':').expect("name:value");
            let value = match value.strip_prefix('=') {
                Some(number) => Value::Scalar(number.parse().expect("a number")),
                None => Value::Text(value.into()),
            };
            o.attributes.push(Attribute {
                name: name.into(),
                value,
            });
        }
    }
    o
}

struct Case {
    name: &'static str,
    constraints: &'static str,
    /// Agents the app's instances run on.
    running: &'static [&'static str],
    offer: &'static str,
    launches: bool,
}

const fn case(
    name: &'static str,
    constraints: &'static str,
    running: &'static [&'static str],
    offer: &'static str,
    launches: bool,
) -> Case {
    Case {
        name,
        constraints,
        running,
        offer,
        launches,
    }
}

fn check(cases: &[Case], settings: &MatchSettings) {
    for c in cases {
        let web = constrained("/web", c.constraints);
        let running = c
            .running
            .iter()
            .fold(Running::default(), |r, s| r.on(&web, &spec(s)));
        let plans = place_with(&[spec(c.offer)], &mut [want(&web, 1)], &running, settings);
        let launched = plans[0].placed.len() == 1;
        assert_eq!(launched, c.launches, "{}: {:?}", c.name, plans[0].refused);
        if !launched {
            assert_eq!(
                refusal(&plans),
                Refusal::UnfulfilledConstraint,
                "{}",
                c.name
            );
        }
    }
}

#[test]
fn unique_cluster_and_max_per() {
    check(
        &[
            case(
                "unique, first",
                r#"[["hostname","UNIQUE"]]"#,
                &[],
                "h1",
                true,
            ),
            case(
                "unique, taken",
                r#"[["hostname","UNIQUE"]]"#,
                &["h1"],
                "h1",
                false,
            ),
            case(
                "unique, other host",
                r#"[["hostname","UNIQUE"]]"#,
                &["h1"],
                "h2",
                true,
            ),
            case(
                "@hostname is hostname",
                r#"[["@hostname","UNIQUE"]]"#,
                &["h1"],
                "h1",
                false,
            ),
            case(
                "unique attr, taken",
                r#"[["rack","UNIQUE"]]"#,
                &["h1 rack:r1"],
                "h2 rack:r1",
                false,
            ),
            case(
                "unique attr, free",
                r#"[["rack","UNIQUE"]]"#,
                &["h1 rack:r1"],
                "h2 rack:r2",
                true,
            ),
            case(
                "unique attr, missing",
                r#"[["rack","UNIQUE"]]"#,
                &[],
                "h1",
                false,
            ),
            case(
                "cluster value, equal",
                r#"[["rack","CLUSTER","r1"]]"#,
                &[],
                "h1 rack:r1",
                true,
            ),
            case(
                "cluster value, other",
                r#"[["rack","CLUSTER","r1"]]"#,
                &[],
                "h1 rack:r2",
                false,
            ),
            case(
                "cluster host",
                r#"[["hostname","CLUSTER","h1"]]"#,
                &["h1"],
                "h2",
                false,
            ),
            case(
                "cluster empty, first",
                r#"[["hostname","CLUSTER",""]]"#,
                &[],
                "h2",
                true,
            ),
            case(
                "cluster empty, pinned",
                r#"[["hostname","CLUSTER",""]]"#,
                &["h1"],
                "h1",
                true,
            ),
            case(
                "cluster empty, elsewhere",
                r#"[["hostname","CLUSTER",""]]"#,
                &["h1"],
                "h2",
                false,
            ),
            case(
                "max_per, below",
                r#"[["rack","MAX_PER","2"]]"#,
                &["h1 rack:r1"],
                "h2 rack:r1",
                true,
            ),
            case(
                "max_per, reached",
                r#"[["rack","MAX_PER","2"]]"#,
                &["h1 rack:r1", "h2 rack:r1"],
                "h3 rack:r1",
                false,
            ),
            case(
                "max_per, other value",
                r#"[["rack","MAX_PER","2"]]"#,
                &["h1 rack:r1", "h2 rack:r1"],
                "h3 rack:r2",
                true,
            ),
            case(
                "max_per 1 on hosts",
                r#"[["hostname","MAX_PER","1"]]"#,
                &["h1"],
                "h1",
                false,
            ),
            case(
                "max_per, missing",
                r#"[["rack","MAX_PER","2"]]"#,
                &[],
                "h1",
                false,
            ),
        ],
        &settings(),
    );
}

#[test]
fn group_by() {
    check(
        &[
            case(
                "group_by, first",
                r#"[["rack","GROUP_BY"]]"#,
                &[],
                "h1 rack:r1",
                true,
            ),
            case(
                "group_by, new value",
                r#"[["rack","GROUP_BY"]]"#,
                &["h1 rack:r1"],
                "h2 rack:r2",
                true,
            ),
            // Without a count, a single known value is also the smallest group.
            case(
                "group_by, only value",
                r#"[["rack","GROUP_BY"]]"#,
                &["h1 rack:r1"],
                "h2 rack:r1",
                true,
            ),
            case(
                "group_by, fuller group",
                r#"[["rack","GROUP_BY"]]"#,
                &["h1 rack:r1", "h2 rack:r1", "h3 rack:r2"],
                "h4 rack:r1",
                false,
            ),
            case(
                "group_by, smallest group",
                r#"[["rack","GROUP_BY"]]"#,
                &["h1 rack:r1", "h2 rack:r1", "h3 rack:r2"],
                "h4 rack:r2",
                true,
            ),
            case(
                "group_by 3, too few values seen",
                r#"[["rack","GROUP_BY","3"]]"#,
                &["h1 rack:r1", "h2 rack:r2"],
                "h3 rack:r1",
                false,
            ),
            case(
                "group_by 3, a third value",
                r#"[["rack","GROUP_BY","3"]]"#,
                &["h1 rack:r1", "h2 rack:r2"],
                "h3 rack:r3",
                true,
            ),
            case(
                "group_by 3, all seen and even",
                r#"[["rack","GROUP_BY","3"]]"#,
                &["h1 rack:r1", "h2 rack:r2", "h3 rack:r3"],
                "h4 rack:r1",
                true,
            ),
            case(
                "group_by, missing",
                r#"[["rack","GROUP_BY"]]"#,
                &[],
                "h1",
                false,
            ),
            case(
                "group_by hostname",
                r#"[["hostname","GROUP_BY"]]"#,
                &["h1", "h1", "h2"],
                "h1",
                false,
            ),
        ],
        &settings(),
    );
}

#[test]
fn like_unlike_and_is() {
    check(
        &[
            case(
                "like, match",
                r#"[["rack","LIKE","r[12]"]]"#,
                &[],
                "h1 rack:r1",
                true,
            ),
            case(
                "like, no match",
                r#"[["rack","LIKE","r[12]"]]"#,
                &[],
                "h1 rack:r3",
                false,
            ),
            case(
                "like, prefix only",
                r#"[["rack","LIKE","r[12]"]]"#,
                &[],
                "h1 rack:r12",
                false,
            ),
            case(
                "like, suffix only",
                r#"[["rack","LIKE","r[12]"]]"#,
                &[],
                "h1 rack:xr1",
                false,
            ),
            case(
                "like, alternation",
                r#"[["rack","LIKE","a|b"]]"#,
                &[],
                "h1 rack:b",
                true,
            ),
            case(
                "like, hostname",
                r#"[["hostname","LIKE","web-.*"]]"#,
                &[],
                "web-1",
                true,
            ),
            case(
                "like, hostname no",
                r#"[["hostname","LIKE","web-.*"]]"#,
                &[],
                "db-1",
                false,
            ),
            case(
                "like, missing",
                r#"[["rack","LIKE","r1"]]"#,
                &[],
                "h1",
                false,
            ),
            case(
                "like, bad regex",
                r#"[["rack","LIKE","r{2,1}"]]"#,
                &[],
                "h1 rack:rr",
                false,
            ),
            case(
                "unlike, match",
                r#"[["rack","UNLIKE","r1"]]"#,
                &[],
                "h1 rack:r1",
                false,
            ),
            case(
                "unlike, other",
                r#"[["rack","UNLIKE","r1"]]"#,
                &[],
                "h1 rack:r2",
                true,
            ),
            case(
                "unlike, full match",
                r#"[["rack","UNLIKE","r1"]]"#,
                &[],
                "h1 rack:r10",
                true,
            ),
            case(
                "unlike, missing",
                r#"[["rack","UNLIKE","r1"]]"#,
                &[],
                "h1",
                true,
            ),
            case(
                "unlike, bad regex",
                r#"[["rack","UNLIKE","r{2,1}"]]"#,
                &[],
                "h1 rack:x",
                false,
            ),
            case(
                "is, equal",
                r#"[["rack","IS","r1"]]"#,
                &[],
                "h1 rack:r1",
                true,
            ),
            case(
                "is, not a prefix",
                r#"[["rack","IS","r1"]]"#,
                &[],
                "h1 rack:r11",
                false,
            ),
            case(
                "is, not a regex",
                r#"[["rack","IS","r."]]"#,
                &[],
                "h1 rack:r1",
                false,
            ),
            case("is, missing", r#"[["rack","IS","r1"]]"#, &[], "h1", false),
            case(
                "is, hostname",
                r#"[["hostname","IS","h1"]]"#,
                &[],
                "h1",
                true,
            ),
            case(
                "is, scalar",
                r#"[["cores","IS","8.0"]]"#,
                &[],
                "h1 cores:=8",
                true,
            ),
            case(
                "is, scalar rounded",
                r#"[["cores","IS","8.0004"]]"#,
                &[],
                "h1 cores:=8",
                true,
            ),
            case(
                "is, scalar differs",
                r#"[["cores","IS","8.01"]]"#,
                &[],
                "h1 cores:=8",
                false,
            ),
            case(
                "is, text is text",
                r#"[["cores","IS","8.0"]]"#,
                &[],
                "h1 cores:8",
                false,
            ),
            case(
                "like, scalar as text",
                r#"[["cores","LIKE","8"]]"#,
                &[],
                "h1 cores:=8",
                true,
            ),
            case(
                "every constraint must hold",
                r#"[["rack","LIKE","r.*"],["hostname","UNIQUE"]]"#,
                &["h1 rack:r1"],
                "h1 rack:r2",
                false,
            ),
        ],
        &settings(),
    );
}

#[test]
fn regions_and_zones() {
    check(
        &[
            case(
                "@region is",
                r#"[["@region","IS","eu"]]"#,
                &[],
                "h1 @eu/a",
                true,
            ),
            case(
                "@region is not",
                r#"[["@region","IS","eu"]]"#,
                &[],
                "h1 @us/a",
                false,
            ),
            case(
                "@region, no domain",
                r#"[["@region","IS","eu"]]"#,
                &[],
                "h1",
                false,
            ),
            case(
                "@zone unique",
                r#"[["@zone","UNIQUE"]]"#,
                &["h1 @eu/a"],
                "h2 @eu/a",
                false,
            ),
            case(
                "@zone unique free",
                r#"[["@zone","UNIQUE"]]"#,
                &["h1 @eu/a"],
                "h2 @eu/b",
                true,
            ),
            case(
                "@zone group_by 2, one seen",
                r#"[["@zone","GROUP_BY","2"]]"#,
                &["h1 @eu/a"],
                "h2 @eu/a",
                false,
            ),
            case(
                "@zone group_by 2, second zone",
                r#"[["@zone","GROUP_BY","2"]]"#,
                &["h1 @eu/a"],
                "h2 @eu/b",
                true,
            ),
            case(
                "@zone like",
                r#"[["@zone","LIKE","eu-.*"]]"#,
                &[],
                "h1 @eu/eu-1",
                true,
            ),
        ],
        &settings(),
    );
}

#[test]
fn without_a_region_constraint_only_the_local_region_is_used() {
    let local = MatchSettings {
        local_region: Some("eu".into()),
        ..settings()
    };
    check(
        &[
            case("local region", "[]", &[], "h1 @eu/a", true),
            case("remote region", "[]", &[], "h1 @us/a", false),
            case("no domain", "[]", &[], "h1", true),
            case(
                "other constraints",
                r#"[["hostname","UNIQUE"]]"#,
                &[],
                "h1 @us/a",
                false,
            ),
            case(
                "remote targeted",
                r#"[["@region","IS","us"]]"#,
                &[],
                "h1 @us/a",
                true,
            ),
            case(
                "local not targeted",
                r#"[["@region","IS","us"]]"#,
                &[],
                "h1 @eu/a",
                false,
            ),
            case(
                "any region",
                r#"[["@region","LIKE",".*"]]"#,
                &[],
                "h1 @us/a",
                true,
            ),
        ],
        &local,
    );
    // Without a known local region every region is fine.
    check(
        &[case("remote region", "[]", &[], "h1 @us/a", true)],
        &settings(),
    );
}

#[test]
fn only_instances_that_hold_a_place_count() {
    let web = constrained("/web", r#"[["hostname","UNIQUE"]]"#);
    let h1 = spec("h1");
    let observed = |condition: Condition| {
        move |i: &mut Instance| {
            i.observed = Some(ObservedStatus {
                condition,
                task_id: TaskId(format!("{}._app.1", i.id).into()),
                status_uuid: None,
                message: None,
                reason: None,
                healthy: None,
                since: Timestamp(0),
                updated_at: Timestamp(0),
            })
        }
    };
    let on_h1 = || Running::default().on(&web, &h1);
    let table = [
        ("provisioned", on_h1(), false),
        ("running", on_h1().last(observed(Condition::Running)), false),
        (
            "unreachable",
            on_h1().last(observed(Condition::Unreachable)),
            false,
        ),
        ("failed", on_h1().last(observed(Condition::Failed)), true),
        ("stopped", on_h1().last(|i| i.goal = Goal::Stopped), true),
        (
            "another app's",
            Running::default().on(&constrained("/db", "[]"), &h1),
            true,
        ),
    ];
    for (name, running, launches) in table {
        let plans = place_with(
            std::slice::from_ref(&h1),
            &mut [want(&web, 1)],
            &running,
            &settings(),
        );
        assert_eq!(plans[0].placed.len() == 1, launches, "{name}");
    }
}

#[test]
fn instances_placed_in_the_same_round_count() {
    let web = constrained("/web", r#"[["hostname","UNIQUE"]]"#);
    // Two offers from the same agent, and room for several instances on each.
    let offers = [spec("h1"), spec("h1"), spec("h2")];
    let mut wants = [want(&web, 3)];
    let plans = place_fresh(&offers, &mut wants);
    assert_eq!(hosts(&offers, &plans), ["h1", "h2"]);
    assert_eq!(wants[0].count, 1);
    assert_eq!(
        plans[0].refused.first().map(|(_, r)| *r),
        Some(Refusal::UnfulfilledConstraint),
        "the second instance may not share the first's host"
    );
    assert_eq!(plans[1].refused[0].1, Refusal::UnfulfilledConstraint);
}

#[test]
fn group_by_spreads_a_round_over_the_values() {
    let web = constrained("/web", r#"[["rack","GROUP_BY","3"]]"#);
    // One instance fits each agent.
    let small = |s: &str| {
        let mut o = spec(s);
        o.resources = vec![
            allocated(Resource::scalar("cpus", 0.1)),
            allocated(Resource::scalar("mem", 10.0)),
            allocated(ports(31000, 31000)),
        ];
        o
    };
    let racks = |offers: &[Offer], plans: &[OfferPlan]| -> BTreeMap<String, usize> {
        let mut count = BTreeMap::new();
        for (o, p) in offers.iter().zip(plans) {
            for _ in &p.placed {
                *count.entry(o.attributes[0].value.to_text()).or_default() += 1;
            }
        }
        count
    };
    let offers: Vec<Offer> = ["a r1", "b r2", "c r3", "d r1", "e r2", "f r3"]
        .iter()
        .map(|s| {
            let (host, rack) = s.split_once(' ').expect("host rack");
            small(&format!("{host} rack:{rack}"))
        })
        .collect();
    let plans = place_fresh(&offers, &mut [want(&web, 6)]);
    let even: BTreeMap<String, usize> = [("r1", 2), ("r2", 2), ("r3", 2)]
        .into_iter()
        .map(|(r, n)| (r.to_string(), n))
        .collect();
    assert_eq!(racks(&offers, &plans), even);

    // Until three racks are known, a known rack takes no second instance.
    let offers: Vec<Offer> = ["a r1", "b r1", "c r1", "d r2", "e r2", "f r3"]
        .iter()
        .map(|s| {
            let (host, rack) = s.split_once(' ').expect("host rack");
            small(&format!("{host} rack:{rack}"))
        })
        .collect();
    let mut wants = [want(&web, 6)];
    let plans = place_fresh(&offers, &mut wants);
    assert_eq!(hosts(&offers, &plans), ["a", "d", "f"]);
    assert_eq!(wants[0].count, 3);
}

#[test]
fn max_per_and_cluster_hold_within_one_offer() {
    let capped = constrained("/capped", r#"[["rack","MAX_PER","2"]]"#);
    let plans = place_fresh(&[spec("h1 rack:r1")], &mut [want(&capped, 5)]);
    assert_eq!(plans[0].placed.len(), 2);
    assert_eq!(refusal(&plans), Refusal::UnfulfilledConstraint);

    let pinned = constrained("/pinned", r#"[["hostname","CLUSTER",""]]"#);
    let offers = [spec("h1"), spec("h2")];
    let mut wants = [want(&pinned, 4)];
    let plans = place_fresh(&offers, &mut wants);
    assert_eq!(hosts(&offers, &plans), ["h1", "h1", "h1", "h1"]);
}
