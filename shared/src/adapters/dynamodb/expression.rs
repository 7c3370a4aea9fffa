//! The conditional update expressions of the state table, built without hand-numbered
//! placeholders; each condition states one rule of `domain::state` (the claim rule is checked
//! against `UserState::may_claim` by tests/tests/suite/claim_rule.rs).

use super::{Item, n, s};
use crate::domain::state::{Intent, Lease};
use crate::domain::teams::TeamsState;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;

/// Builds update expressions without hand-numbering placeholders.
#[derive(Default)]
pub(super) struct Expression {
    pub(super) set: Vec<String>,
    pub(super) remove: Vec<&'static str>,
    pub(super) conditions: Vec<String>,
    pub(super) values: Item,
}

impl Expression {
    pub(super) fn value(&mut self, name: &str, value: AttributeValue) -> String {
        let placeholder = format!(":{name}");
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    pub(super) fn set(&mut self, attribute: &str, value: AttributeValue) {
        let placeholder = self.value(attribute, value);
        self.set.push(format!("{attribute} = {placeholder}"));
    }

    pub(super) fn apply(
        self,
        operation: UpdateItemFluentBuilder,
        now_ms: i64,
    ) -> UpdateItemFluentBuilder {
        let mut this = self;
        this.set("updated_at", n(now_ms));
        let one = this.value("one", n(1));
        let mut update = format!("SET {} ADD rev {one}", this.set.join(", "));
        if !this.remove.is_empty() {
            update.push_str(&format!(" REMOVE {}", this.remove.join(", ")));
        }
        let operation = operation
            .update_expression(update)
            .set_expression_attribute_values(Some(this.values));
        if this.conditions.is_empty() {
            operation
        } else {
            operation.condition_expression(this.conditions.join(" AND "))
        }
    }

    /// Nobody is in the middle of changing Teams for the user.
    pub(super) fn lease_free_or_clean(&mut self, now_ms: i64) {
        let now = self.value("now", n(now_ms));
        self.conditions.push(format!(
            "(attribute_not_exists(lease_until) OR lease_until < {now} OR intent = applied)"
        ));
    }

    /// The rule of [`UserState::may_claim`]: a clean record may always be claimed; a dirty one
    /// only once its lease is gone, and never with an intent equal to what is applied (which
    /// would make an uncertain record look settled).
    pub(super) fn may_claim(&mut self, intent: Intent, now_ms: i64) {
        match intent {
            Intent::Pending => self.lease_free_or_clean(now_ms),
            Intent::Teams(state) => {
                let now = self.value("now", n(now_ms));
                let intended = self.value("intended", s(state.encode()));
                self.conditions.push(format!(
                    "(attribute_not_exists(intent) OR intent = applied OR \
                     ((attribute_not_exists(lease_until) OR lease_until < {now}) AND applied <> {intended}))"
                ));
            }
        }
    }

    pub(super) fn claim(&mut self, intent: Intent, lease: &Lease) {
        self.set("intent", s(intent.encode()));
        self.set("lease_owner", s(&lease.owner));
        self.set("lease_until", n(lease.until_ms));
        let clear = self.value("cleared", s(TeamsState::Cleared.encode()));
        self.set
            .push(format!("applied = if_not_exists(applied, {clear})"));
    }

    pub(super) fn held_by(&mut self, owner: &str) {
        let owner = self.value("owner", s(owner));
        self.conditions.push(format!("lease_owner = {owner}"));
    }
}
