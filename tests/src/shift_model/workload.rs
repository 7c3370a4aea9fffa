//! The seeded shift: every agent's Genesys changes over the hour from 07:50, and what Teams
//! should show after each. The rates are [`Shape`]'s defaults, argued in
//! `docs/performance.md` ("Shift start at scale", workload).

use crate::events::{activity, presence, routing};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

/// One Genesys change of one agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Signs in: presence Available (`v2.users.{id}.presence`).
    Available,
    /// Goes On Queue, routing status Idle (`v2.users.{id}.activity`).
    OnQueue,
    /// An interaction is routed to the agent (`v2.users.{id}.routingStatus`).
    Interacting,
    /// The interaction (with its wrap-up) ends (`routingStatus`).
    Idle,
    /// Goes on break, off queue (`activity`).
    Break,
    /// Signs out (`activity`).
    Offline,
}

/// What Teams should show, in the model's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shown {
    Available,
    Busy,
    Away,
    Cleared,
}

/// Which `PRESENCE_MAPPING` the function runs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mapping {
    /// The default table: On Queue is Busy, routing status changes nothing in Teams.
    Default,
    /// On Queue shows Available and `routing:INTERACTING` Busy: every interaction is two
    /// Teams writes.
    RoutingRules,
    /// `PRESENCE_MODE=two-way`, the watcher's: the states in which an agent can be reached
    /// (Available, On Queue) clear what we set, so that Teams shows their own session.
    TwoWay,
}

impl Mapping {
    /// The mapping the function runs with.
    pub fn mapping(self) -> presence_core::domain::mapping::PresenceMapping {
        let mapping = match self {
            Mapping::TwoWay => presence_core::domain::watch::PresenceMode::TwoWay.mapping(""),
            _ => presence_core::domain::mapping::PresenceMapping::from_json(self.json()),
        };
        mapping.expect("a valid mapping")
    }

    /// The `PRESENCE_MAPPING` value.
    pub fn json(self) -> &'static str {
        match self {
            Mapping::Default | Mapping::TwoWay => "",
            Mapping::RoutingRules => {
                r#"{"ON_QUEUE":{"availability":"Available","activity":"Available"},"routing:INTERACTING":{"availability":"Busy","activity":"Busy"}}"#
            }
        }
    }

    /// What Teams shows after `kind`, given what it showed before (routing changes leave
    /// Teams as it is without routing rules).
    fn shown(self, kind: Kind, before: Option<Shown>) -> Option<Shown> {
        match (self, kind) {
            (Mapping::TwoWay, Kind::Available | Kind::OnQueue) => Some(Shown::Cleared),
            (Mapping::TwoWay, Kind::Interacting | Kind::Idle) => before,
            (_, Kind::Available) => Some(Shown::Available),
            (_, Kind::Break) => Some(Shown::Away),
            (_, Kind::Offline) => Some(Shown::Cleared),
            (Mapping::Default, Kind::OnQueue) => Some(Shown::Busy),
            (Mapping::Default, Kind::Interacting | Kind::Idle) => before,
            (Mapping::RoutingRules, Kind::OnQueue | Kind::Idle) => Some(Shown::Available),
            (Mapping::RoutingRules, Kind::Interacting) => Some(Shown::Busy),
        }
    }
}

/// One change: when (ms after model time zero, which is also its Genesys version), whose,
/// and whether it changes what Teams should show.
#[derive(Clone, Copy, Debug)]
pub struct Change {
    pub at_ms: i64,
    pub agent: u32,
    pub kind: Kind,
    pub shown: Option<Shown>,
    pub needs_write: bool,
}

/// The shape of the hour. Times in seconds after model time zero (07:50).
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Share of agents whose shift starts at 8: they sign in over the first 15 minutes,
    /// a triangle peaking at 08:00.
    pub on_time_share: f64,
    /// The others sign in uniformly between 15 and 55 minutes (staggered starts).
    pub late_until_s: f64,
    /// From signing in to going On Queue: uniform between these.
    pub to_queue_s: (f64, f64),
    /// Idle time between interactions: exponential with this mean.
    pub idle_mean_s: f64,
    /// Handle time (talk and wrap-up): log-normal with this median and sigma.
    pub handle_median_s: f64,
    pub handle_sigma: f64,
    /// Share of agents taking a 15-minute break in the hour.
    pub break_share: f64,
    /// Share of agents signing out before the hour ends.
    pub sign_out_share: f64,
    /// The hour modelled.
    pub end_s: f64,
}

impl Default for Shape {
    fn default() -> Self {
        Shape {
            on_time_share: 0.9,
            late_until_s: 55.0 * 60.0,
            to_queue_s: (15.0, 90.0),
            idle_mean_s: 60.0,
            handle_median_s: 240.0,
            handle_sigma: 0.5,
            break_share: 0.25,
            sign_out_share: 0.03,
            end_s: 3600.0,
        }
    }
}

/// The shift: the agents' ids and every change, in time order.
pub struct Workload {
    pub agents: Vec<Agent>,
    pub changes: Vec<Change>,
    pub mapping: Mapping,
}

/// One agent: Genesys and Teams ids.
#[derive(Clone, Debug)]
pub struct Agent {
    pub genesys: String,
    pub teams: String,
}

/// A standard normal draw (Box–Muller).
pub fn normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn uuid(rng: &mut StdRng) -> String {
    uuid::Builder::from_random_bytes(rng.random())
        .into_uuid()
        .to_string()
}

impl Workload {
    pub fn generate(agents: usize, shape: Shape, mapping: Mapping, seed: u64) -> Workload {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut changes = Vec::new();
        let mut ids = Vec::with_capacity(agents);
        for agent in 0..agents as u32 {
            ids.push(Agent {
                genesys: uuid(&mut rng),
                teams: uuid(&mut rng),
            });
            let mut timeline = Vec::new();
            agent_hour(&mut rng, &shape, &mut timeline);
            let mut before = None;
            for (at_s, kind) in timeline {
                let shown = mapping.shown(kind, before);
                changes.push(Change {
                    at_ms: (at_s * 1000.0) as i64,
                    agent,
                    kind,
                    shown,
                    needs_write: shown != before,
                });
                before = shown;
            }
        }
        changes.sort_by_key(|c| (c.at_ms, c.agent));
        Workload {
            agents: ids,
            changes,
            mapping,
        }
    }

    /// The EventBridge event of a change.
    pub fn event(&self, change: &Change) -> Value {
        let user = &self.agents[change.agent as usize].genesys;
        let ms = change.at_ms + super::clock::ZERO_FROM_EIGHT_MS;
        match change.kind {
            Kind::Available => presence(user, "AVAILABLE", ms),
            Kind::OnQueue => activity(user, "ON_QUEUE", ms, "IDLE", ms),
            Kind::Interacting => routing(user, "INTERACTING", ms),
            Kind::Idle => routing(user, "IDLE", ms),
            Kind::Break => activity(user, "BREAK", ms, "OFF_QUEUE", ms),
            Kind::Offline => activity(user, "OFFLINE", ms, "OFF_QUEUE", ms),
        }
    }

    /// The first `n` agents and their changes (a scoped run's agents in scope).
    pub fn first(&self, n: usize) -> Workload {
        Workload {
            agents: self.agents[..n.min(self.agents.len())].to_vec(),
            changes: (self.changes.iter())
                .filter(|c| (c.agent as usize) < n)
                .copied()
                .collect(),
            mapping: self.mapping,
        }
    }

    /// What Teams should show for each agent at the end (None: nothing was ever mapped).
    pub fn final_shown(&self) -> Vec<Option<Shown>> {
        let mut last = vec![None; self.agents.len()];
        for change in &self.changes {
            last[change.agent as usize] = change.shown;
        }
        last
    }
}

/// One agent's hour: (seconds after zero, change), strictly increasing by at least 1 ms.
fn agent_hour(rng: &mut StdRng, shape: &Shape, out: &mut Vec<(f64, Kind)>) {
    let sign_in = if rng.random::<f64>() < shape.on_time_share {
        // Triangle over [0, 15 min] with its mode at 10 min (08:00).
        let u: f64 = rng.random();
        let (a, b, c) = (0.0, 900.0, 600.0);
        if u < (c - a) / (b - a) {
            a + (u * (b - a) * (c - a)).sqrt()
        } else {
            b - ((1.0 - u) * (b - a) * (b - c)).sqrt()
        }
    } else {
        rng.random_range(900.0..shape.late_until_s)
    };
    let mut t = sign_in;
    out.push((t, Kind::Available));
    t += rng.random_range(shape.to_queue_s.0..shape.to_queue_s.1);
    out.push((t, Kind::OnQueue));
    let on_queue = t;
    let (earliest, latest) = (on_queue + 1200.0, shape.end_s - 600.0);
    let break_at = (rng.random::<f64>() < shape.break_share && earliest < latest)
        .then(|| rng.random_range(earliest..latest));
    let sign_out_at =
        (rng.random::<f64>() < shape.sign_out_share).then(|| rng.random_range(1800.0..shape.end_s));
    let mut on_break_done = false;
    loop {
        let idle = -shape.idle_mean_s * rng.random::<f64>().max(1e-12).ln();
        t += idle.max(0.001);
        if sign_out_at.is_some_and(|at| t >= at) {
            out.push((t, Kind::Offline));
            return;
        }
        if !on_break_done && break_at.is_some_and(|at| t >= at) {
            on_break_done = true;
            out.push((t, Kind::Break));
            t += 900.0;
            out.push((t, Kind::OnQueue));
            continue;
        }
        if t >= shape.end_s {
            return;
        }
        out.push((t, Kind::Interacting));
        let handle = shape.handle_median_s * (shape.handle_sigma * normal(rng)).exp();
        t += handle.max(1.0);
        out.push((t, Kind::Idle));
        if t >= shape.end_s {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_shift() {
        let a = Workload::generate(50, Shape::default(), Mapping::Default, 7);
        let b = Workload::generate(50, Shape::default(), Mapping::Default, 7);
        assert_eq!(a.changes.len(), b.changes.len());
        assert!(
            a.changes
                .iter()
                .zip(&b.changes)
                .all(|(x, y)| x.at_ms == y.at_ms)
        );
    }

    #[test]
    fn most_agents_sign_in_within_fifteen_minutes() {
        let w = Workload::generate(2_000, Shape::default(), Mapping::Default, 1);
        let sign_ins: Vec<_> = w
            .changes
            .iter()
            .filter(|c| c.kind == Kind::Available)
            .collect();
        assert_eq!(sign_ins.len(), 2_000);
        let early = sign_ins.iter().filter(|c| c.at_ms <= 900_000).count();
        assert!((1_700..=1_900).contains(&early), "{early}");
    }
}
