//! What the scope reads of Genesys Cloud, with the same token, retries and error
//! classification as the bulk reads: a user's division and groups
//! (`GET /api/v2/users/{userId}?expand=groups`; UsersApi `getUser`: the `User` model carries
//! `division`, and `groups` when expanded), the queues they are a member of
//! (`GET /api/v2/users/{userId}/queues`, paged; needs `routing:queue:view`), a queue's members
//! (`GET /api/v2/routing/queues/{queueId}/members`, paged; RoutingApi
//! `getRoutingQueueMembers`, needs `routing:queue:view`) and whether a division, group or queue
//! exists (`presencectl doctor`).

use super::{GenesysUsers, text};
use crate::domain::ids::GenesysUserId;
use crate::domain::scope::{Membership, ScopeEntry, ScopeId, ScopeKind};
use crate::ports::{Budget, QueueMembersPage, RemoteError, SecretSource, Service};
use serde_json::{Map, Value};

/// What a 403 on a scope read asks of the OAuth client's role.
const DENIED_HINT: &str =
    "the OAuth client's role needs to view users, and for queue scopes routing:queue:view";

/// Items per page of the queue listings (the Routing API's largest).
pub const QUEUE_PAGE: u32 = 100;
/// The most pages of a user's queues read: an agent is a member of tens of queues, not
/// thousands; more is taken as unknown.
const MAX_QUEUE_PAGES: u32 = 10;

/// The ids of a listing's entities (`entities[].id`, or `entities[].user.id` for members).
fn ids_in(listing: &Map<String, Value>, nested: Option<&str>) -> Vec<String> {
    let entities = listing.get("entities").and_then(Value::as_array);
    entities
        .into_iter()
        .flatten()
        .filter_map(|e| match nested {
            Some(field) => e.get(field).and_then(|u| text(u, "id")),
            None => text(e, "id"),
        })
        .map(str::to_owned)
        .collect()
}

/// Whether a page is the listing's last (`pageCount`, bounded; absent: last).
fn last_page(listing: &Map<String, Value>, number: u32) -> bool {
    let count = listing
        .get("pageCount")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    u64::from(number) >= count
}

impl<S: SecretSource> GenesysUsers<S> {
    /// The user's division and groups, and with `queues` their queues.
    pub async fn membership(
        &self,
        user: &GenesysUserId,
        queues: bool,
        budget: Budget,
    ) -> Result<Membership, RemoteError> {
        let url = format!("{}/api/v2/users/{}?expand=groups", self.base, user.as_str());
        let Some(found) = self.scope_lookup("user lookup", &url, budget).await? else {
            // Genesys does not know the user: a member of nothing.
            return Ok(Membership {
                division: None,
                groups: Some(Vec::new()),
                queues: queues.then(Vec::new),
            });
        };
        let division = found
            .get("division")
            .and_then(|d| text(d, "id"))
            .and_then(ScopeId::parse);
        let groups = found.get("groups").and_then(Value::as_array).map(|groups| {
            groups
                .iter()
                .filter_map(|g| text(g, "id").and_then(ScopeId::parse))
                .collect()
        });
        let queues = match queues {
            true => self.queues_of(user, budget).await?,
            false => None,
        };
        Ok(Membership {
            division,
            groups,
            queues,
        })
    }

    /// The queues `user` is a member of, page by page; `None` past [`MAX_QUEUE_PAGES`].
    async fn queues_of(
        &self,
        user: &GenesysUserId,
        budget: Budget,
    ) -> Result<Option<Vec<ScopeId>>, RemoteError> {
        let mut queues = Vec::new();
        for number in 1..=MAX_QUEUE_PAGES {
            let url = format!(
                "{}/api/v2/users/{}/queues?pageSize={QUEUE_PAGE}&pageNumber={number}",
                self.base,
                user.as_str()
            );
            let page = self.scope_get("user's queues", &url, budget).await?;
            queues.extend(
                ids_in(&page, None)
                    .iter()
                    .filter_map(|id| ScopeId::parse(id)),
            );
            if last_page(&page, number) {
                return Ok(Some(queues));
            }
        }
        tracing::warn!(service = %Service::GenesysUsers, user = %user, "a user is a member of more queues than read; their queues are taken as unknown");
        Ok(None)
    }

    /// Page `number` (from 1) of `queue`'s members.
    pub async fn members_of(
        &self,
        queue: &ScopeId,
        number: u32,
        budget: Budget,
    ) -> Result<QueueMembersPage, RemoteError> {
        let url = format!(
            "{}/api/v2/routing/queues/{}/members?pageSize={QUEUE_PAGE}&pageNumber={number}",
            self.base,
            queue.as_str()
        );
        let page = self.scope_get("queue's members", &url, budget).await?;
        let members = ids_in(&page, Some("user"))
            .iter()
            .filter_map(|id| GenesysUserId::parse(id))
            .collect();
        let next = (!last_page(&page, number)).then_some(number + 1);
        Ok(QueueMembersPage { members, next })
    }

    /// Whether a division, group or queue exists: a 404 is `false`.
    pub async fn scope_entity_exists(
        &self,
        entry: &ScopeEntry,
        budget: Budget,
    ) -> Result<bool, RemoteError> {
        let path = match entry.kind {
            ScopeKind::Division => "authorization/divisions",
            ScopeKind::Group => "groups",
            ScopeKind::Queue => "routing/queues",
        };
        let url = format!("{}/api/v2/{path}/{}", self.base, entry.id);
        let found = self
            .scope_lookup("scope entity lookup", &url, budget)
            .await?;
        Ok(found.is_some())
    }

    /// [`Self::scope_get`], with Genesys's "not found" as `None`.
    async fn scope_lookup(
        &self,
        what: &'static str,
        url: &str,
        budget: Budget,
    ) -> Result<Option<Map<String, Value>>, RemoteError> {
        self.get_object_or_missing(what, "scope", DENIED_HINT, url, budget)
            .await
    }

    async fn scope_get(
        &self,
        what: &'static str,
        url: &str,
        budget: Budget,
    ) -> Result<Map<String, Value>, RemoteError> {
        self.get_object(
            Service::GenesysUsers,
            what,
            "scope",
            DENIED_HINT,
            url,
            budget,
        )
        .await
    }
}
