//! Placement constraints with Marathon's semantics: UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE,
//! MAX_PER and IS on `hostname`/`@hostname`, `@region`, `@zone` or an agent attribute, judged
//! against the agents the app's instances run on, those placed earlier in the same round
//! included; and the local-region rule for apps without an `@region` constraint.

use crate::mesos::{Offer, Value};
use crate::state::app::{AppDefinition, Constraint, ConstraintOperator};
use crate::state::model::{Goal, Instance};
use crate::state::path::PathId;
use regex::Regex;
use std::collections::{BTreeMap, HashMap};

/// Where the instances of an app already are: the committed state, or a fixture in tests.
pub(super) trait Existing {
    /// Calls `f` with every instance of `app`, whatever its goal or condition.
    fn each_instance(&self, app: &PathId, f: &mut dyn FnMut(&Instance));
}

impl Existing for crate::state::State {
    fn each_instance(&self, app: &PathId, f: &mut dyn FnMut(&Instance)) {
        self.instances_of(app).for_each(f);
    }
}

/// Instances that hold a place on an agent: meant to run and not over.
fn holds_a_place(instance: &Instance) -> bool {
    instance.goal == Goal::Running && !instance.condition().is_terminal()
}

/// An offer's agent as constraints read it, computed once per offer.
pub(super) struct Agent {
    hostname: String,
    /// Attribute values as text, the way instances record them.
    attributes: BTreeMap<String, String>,
    /// Scalar attributes by value, for IS's numeric comparison.
    scalars: BTreeMap<String, f64>,
    region: Option<String>,
    zone: Option<String>,
}

impl Agent {
    pub(super) fn of(offer: &Offer) -> Agent {
        let domain = offer.domain.as_ref();
        Agent {
            hostname: offer.hostname.clone(),
            attributes: offer
                .attributes
                .iter()
                .map(|a| (a.name.clone(), a.value.to_text()))
                .collect(),
            scalars: offer
                .attributes
                .iter()
                .filter_map(|a| match a.value {
                    Value::Scalar(v) => Some((a.name.clone(), v)),
                    _ => None,
                })
                .collect(),
            region: domain.and_then(|d| d.region()).map(String::from),
            zone: domain.and_then(|d| d.zone()).map(String::from),
        }
    }

    fn field(&self, field: &str) -> Option<&str> {
        read(
            field,
            Some(&self.hostname),
            &self.attributes,
            self.region.as_deref(),
            self.zone.as_deref(),
        )
    }

    pub(super) fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }
}

/// The value of a constraint's field on an agent; `None` when the agent has no such field.
fn read<'a>(
    field: &str,
    hostname: Option<&'a str>,
    attributes: &'a BTreeMap<String, String>,
    region: Option<&'a str>,
    zone: Option<&'a str>,
) -> Option<&'a str> {
    match field {
        "hostname" | "@hostname" => hostname,
        "@region" => region,
        "@zone" => zone,
        attribute => attributes.get(attribute).map(String::as_str),
    }
}

fn instance_field<'a>(instance: &'a Instance, field: &str) -> Option<&'a str> {
    read(
        field,
        instance.hostname.as_deref(),
        &instance.agent_attributes,
        instance.region.as_deref(),
        instance.zone.as_deref(),
    )
}

/// How an app's placed instances spread over the values of one constraint's field.
#[derive(Default)]
struct Tally {
    by_value: HashMap<String, usize>,
    /// Instances whose agent lacks the field (Marathon groups them as one more group).
    missing: usize,
    /// The value of the first instance: CLUSTER without a value pins the app to it.
    first: Option<Option<String>>,
}

impl Tally {
    fn add(&mut self, value: Option<&str>) {
        if self.first.is_none() {
            self.first = Some(value.map(String::from));
        }
        match value {
            Some(v) => *self.by_value.entry(v.to_owned()).or_default() += 1,
            None => self.missing += 1,
        }
    }

    fn count(&self, value: &str) -> usize {
        self.by_value.get(value).copied().unwrap_or(0)
    }

    fn groups(&self) -> usize {
        self.by_value.len() + usize::from(self.missing > 0)
    }

    fn smallest_group(&self) -> usize {
        let present = self.by_value.values().copied().min();
        let missing = (self.missing > 0).then_some(self.missing);
        present.into_iter().chain(missing).min().unwrap_or(0)
    }
}

/// The spread of every constrained app over the round: tallies per app and constraint, built
/// from the existing instances on first use and updated as instances are placed.
pub(super) struct Spread<'s> {
    existing: &'s dyn Existing,
    apps: HashMap<PathId, Vec<Tally>>,
    patterns: Patterns,
}

impl<'s> Spread<'s> {
    pub(super) fn new(existing: &'s dyn Existing) -> Spread<'s> {
        Spread {
            existing,
            apps: HashMap::new(),
            patterns: Patterns::default(),
        }
    }

    fn tallies(&mut self, app: &AppDefinition) -> &mut Vec<Tally> {
        let existing = self.existing;
        self.apps.entry(app.id.clone()).or_insert_with(|| {
            let mut tallies: Vec<Tally> =
                app.constraints.iter().map(|_| Tally::default()).collect();
            existing.each_instance(&app.id, &mut |instance| {
                if holds_a_place(instance) {
                    for (c, tally) in app.constraints.iter().zip(tallies.iter_mut()) {
                        tally.add(instance_field(instance, &c.field));
                    }
                }
            });
            tallies
        })
    }

    /// Counts an instance of `app` placed on `agent` in this round.
    pub(super) fn record(&mut self, app: &AppDefinition, agent: &Agent) {
        if app.constraints.is_empty() {
            return;
        }
        let tallies = self.tallies(app);
        for (c, tally) in app.constraints.iter().zip(tallies.iter_mut()) {
            tally.add(agent.field(&c.field));
        }
    }

    /// Whether one more instance of `app` may go on `agent`.
    pub(super) fn allows(
        &mut self,
        app: &AppDefinition,
        agent: &Agent,
        local_region: Option<&str>,
    ) -> bool {
        let targets_a_region = app.constraints.iter().any(|c| c.field == "@region");
        if let (false, Some(local), Some(region)) = (targets_a_region, local_region, agent.region())
            && local != region
        {
            return false;
        }
        if app.constraints.is_empty() {
            return true;
        }
        self.tallies(app);
        let Spread { apps, patterns, .. } = self;
        let Some(tallies) = apps.get(&app.id) else {
            return false;
        };
        app.constraints
            .iter()
            .zip(tallies)
            .all(|(c, tally)| meets(c, tally, agent, patterns))
    }
}

/// Whether `agent` meets one constraint, given how the app's instances spread over its field.
fn meets(c: &Constraint, tally: &Tally, agent: &Agent, patterns: &mut Patterns) -> bool {
    let Some(value) = agent.field(&c.field) else {
        // An agent without the field satisfies only UNLIKE.
        return c.operator == ConstraintOperator::Unlike;
    };
    let wanted = c.value.as_deref().unwrap_or("");
    match c.operator {
        ConstraintOperator::Unique => tally.count(value) == 0,
        ConstraintOperator::Cluster if wanted.is_empty() => tally
            .first
            .as_ref()
            .is_none_or(|first| first.as_deref() == Some(value)),
        ConstraintOperator::Cluster => value == wanted,
        ConstraintOperator::GroupBy => {
            // The optional value is how many distinct values to expect: until that many groups
            // exist, only a value without instances may take one.
            let minimum = wanted.parse::<i64>().unwrap_or(0).max(0);
            match tally.count(value) {
                0 => true,
                n => tally.groups() as i64 >= minimum && n == tally.smallest_group(),
            }
        }
        ConstraintOperator::MaxPer => match wanted.parse::<i64>() {
            Ok(max) => (tally.count(value) as i64) < max,
            Err(_) => false,
        },
        ConstraintOperator::Is => match (agent.scalars.get(&c.field), wanted.parse::<f64>()) {
            (Some(&scalar), Ok(number)) => thousandths(scalar) == thousandths(number),
            _ => value == wanted,
        },
        ConstraintOperator::Like => patterns.full_match(wanted, value) == Some(true),
        ConstraintOperator::Unlike => patterns.full_match(wanted, value) == Some(false),
    }
}

/// Compiled LIKE/UNLIKE patterns, anchored: Marathon's regexes must match the whole value.
#[derive(Default)]
struct Patterns(HashMap<String, Option<Regex>>);

impl Patterns {
    /// `None` when there is no usable pattern (empty, or refused by the regex engine): then
    /// neither LIKE nor UNLIKE is met, as Marathon refuses an offer for a value-less LIKE.
    fn full_match(&mut self, pattern: &str, value: &str) -> Option<bool> {
        if pattern.is_empty() {
            return None;
        }
        self.0
            .entry(pattern.to_owned())
            .or_insert_with(|| Regex::new(&format!("^(?:{pattern})$")).ok())
            .as_ref()
            .map(|re| re.is_match(value))
    }
}

/// A scalar rounded half-even to three decimals, as IS compares scalar attributes.
fn thousandths(v: f64) -> i64 {
    (v * 1000.0).round_ties_even() as i64
}
