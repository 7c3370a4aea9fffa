//! `presencectl mapping check`: a `PRESENCE_MAPPING` validated exactly as the functions do at
//! start-up, and the effective table it gives.

use crate::output::{Answer, fields};
use presence_core::domain::watch::PresenceMode;
use serde::Serialize;

#[derive(clap::Subcommand)]
pub enum Action {
    /// Validate the mapping and print the effective table.
    Check {
        /// The mapping JSON (`-` reads it from stdin); the deployment's when omitted.
        mapping: Option<String>,
        /// The presence mode to check it in (`one-way` or `two-way`); the deployment's
        /// `PRESENCE_MODE` when omitted (`one-way` for a mapping given here).
        #[arg(long)]
        mode: Option<String>,
    },
}

/// The mapping given on the command line (`-`: stdin).
pub fn text(raw: &str) -> Result<String, String> {
    if raw != "-" {
        return Ok(raw.to_owned());
    }
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin().take(1 << 20), &mut text).map_err(|e| {
        crate::output::with_fix(
            format!("cannot read the mapping from stdin: {e}"),
            "give the mapping as an argument, or pipe it in as UTF-8 JSON",
        )
    })?;
    Ok(text)
}

use std::io::Read as _;

/// The check of one mapping.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MappingCheck {
    pub valid: bool,
    /// The start-up error, naming the entry at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Each key and what it sets in Teams (`availability/activity`, `clear`, `ignore`).
    pub table: Vec<Entry>,
}

#[derive(Serialize)]
pub struct Entry {
    pub key: String,
    pub teams: String,
}

/// The presence mode named on the command line or by the deployment (`one-way` when neither
/// says), or an error naming the bad value.
pub fn mode(raw: Option<&str>) -> Result<PresenceMode, String> {
    match raw {
        None => Ok(PresenceMode::OneWay),
        Some(raw) => PresenceMode::parse(raw).ok_or_else(|| {
            crate::output::with_fix(
                format!(
                    "presence mode {:?} is not one-way or two-way",
                    raw.chars().take(40).collect::<String>()
                ),
                "give --mode one-way or --mode two-way",
            )
        }),
    }
}

/// Validates `raw` as start-up does in `mode`.
pub fn check(raw: &str, mode: PresenceMode) -> MappingCheck {
    match presence_core::config::mapping(raw.to_owned(), mode) {
        Ok(mapping) => MappingCheck {
            valid: true,
            error: None,
            table: (mapping.table().into_iter())
                .map(|(key, teams)| Entry { key, teams })
                .collect(),
        },
        Err(error) => MappingCheck {
            valid: false,
            error: Some(error.to_string()),
            table: Vec::new(),
        },
    }
}

impl Answer for MappingCheck {
    fn text(&self) -> String {
        match &self.error {
            Some(error) => format!("✗ {error}\n"),
            None => {
                let rows: Vec<(&str, String)> = (self.table.iter())
                    .map(|e| (e.key.as_str(), e.teams.clone()))
                    .collect();
                format!(
                    "✓ valid; the effective table (Genesys → Teams):\n{}",
                    fields(&rows)
                )
            }
        }
    }

    fn problem(&self) -> bool {
        !self.valid
    }
}
