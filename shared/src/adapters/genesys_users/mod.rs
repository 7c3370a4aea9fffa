//! Genesys Cloud read in bulk, for the reconciler: the current presence and routing status of
//! many users at once (`GET /api/v2/users?id=…&expand=presence&expand=routingStatus`, the
//! Users API) and the org's users with their Teams ids, page by page (the SCIM list
//! `GET /api/v2/scim/v2/users`). Same client-credentials token, retries and error
//! classification as the SCIM lookup ([`super::genesys`]).
//!
//! Contracts (Genesys platform SDK docs, `UsersApi.md` and `SCIMApi.md`, and the models
//! `UserEntityListing`, `UserPresence`, `RoutingStatus`):
//! * `GET /api/v2/users`: `id` is "A list of user IDs to fetch by bulk" (repeated), `expand`
//!   takes `presence` and `routingStatus` ("resolved with a best effort approach and not
//!   guaranteed to be returned"), `pageSize` defaults to 25, `state` defaults to `active`.
//!   The answer is a `UserEntityListing` (`entities`, `pageSize`, `pageNumber`, `total`, …);
//!   a user's `presence` is `{presenceDefinition{id, systemPresence}, modifiedDate, …}` and
//!   its `routingStatus` `{userId, status, startTime}` (ISO-8601 times).
//! * `GET /api/v2/scim/v2/users`: `startIndex` (1-based), `count` (default 25; "A page size
//!   over 25 may exceed internal resource limits and return a 429 error. For a page size over
//!   25, use the excludedAttributes or attributes query parameters"), `attributes`; without
//!   `filter` it "returns all active users". The answer is a SCIM ListResponse (RFC 7644
//!   §3.4.2): `totalResults`, `startIndex`, `itemsPerPage`, `Resources`.
//!
//! The client and its calls are here; what the Users API answers is read in `users_api`, the
//! pages of the SCIM list in `directory`.

use super::genesys::{EXTENSION, error_text, is_not_found, refusal};
use super::http::{self, Failure, Http, MAX_BULK_BODY_BYTES, ThrottleGate, read_capped_to};
use super::oauth::{Authorized, GenesysLogin, TokenCache};
use crate::domain::excerpt::excerpt;
use crate::domain::ids::GenesysUserId;
use crate::ports::{
    Budget, DirectoryPage, GenesysBulk, GenesysNow, RemoteError, SecretSource, Service,
};
use reqwest::Url;
use secrecy::ExposeSecret;
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::sync::Arc;

mod directory;
mod presence;
mod scope;
mod users_api;

use directory::{directory, start_index};
pub use scope::QUEUE_PAGE;
use users_api::users_now;

/// The most users one [`GenesysBulk::current`] asks for. The Users API documents no limit on
/// `id` and no maximum `pageSize` on a Genesys page (third-party API guides give 500); 100
/// ids keep the request line near 4.5 KB (each `id=<uuid>&` is 40 bytes), well under the
/// 8 KB many proxies and servers allow, and fit one page (`pageSize` = [`MAX_USERS`]).
pub const MAX_USERS: usize = 100;

/// The SCIM page size of the sweep. The SCIM API documents no maximum `count`, but warns that
/// more than 25 "may exceed internal resource limits and return a 429 error" unless
/// `attributes` trims the answer — which the sweep does (external ids only).
pub const DIRECTORY_PAGE: u64 = 100;

const USERS_WHAT: &str = "Users API bulk read";
const SCIM_WHAT: &str = "SCIM user list";

/// Genesys Cloud read in bulk (the reconciler's view of Genesys).
pub struct GenesysUsers<S> {
    http: Http,
    base: String,
    /// Shared with the process's other Genesys clients: one token per OAuth client.
    tokens: Arc<TokenCache<S, GenesysLogin>>,
    /// One gate for both APIs: Genesys limits requests per OAuth client, not per API.
    gate: ThrottleGate,
}

impl<S: SecretSource> GenesysUsers<S> {
    /// `tokens` may be shared with the process's other Genesys clients (an `Arc`), or its own.
    pub fn new(
        http: Http,
        api_url: &Url,
        tokens: impl Into<Arc<TokenCache<S, GenesysLogin>>>,
    ) -> Self {
        GenesysUsers {
            http,
            base: api_url.as_str().trim_end_matches('/').to_owned(),
            tokens: tokens.into(),
            gate: ThrottleGate::default(),
        }
    }

    /// [`GenesysUsers::get_object`], with Genesys's "not found" answer (a 404 with its
    /// not-found code) as `None`.
    async fn get_object_or_missing(
        &self,
        what: &'static str,
        operation: &'static str,
        denied_hint: &'static str,
        url: &str,
        budget: Budget,
    ) -> Result<Option<Map<String, Value>>, RemoteError> {
        let service = Service::GenesysUsers;
        let ask = Ask {
            service,
            what,
            operation,
            denied_hint,
        };
        self.get_json(ask, url, budget, Absent::IsNone).await
    }

    /// GETs `url` and returns its JSON object, with the token, retries and classification of
    /// every Genesys call.
    async fn get_object(
        &self,
        service: Service,
        what: &'static str,
        operation: &'static str,
        denied_hint: &'static str,
        url: &str,
        budget: Budget,
    ) -> Result<Map<String, Value>, RemoteError> {
        let ask = Ask {
            service,
            what,
            operation,
            denied_hint,
        };
        let object = self.get_json(ask, url, budget, Absent::IsRefused).await?;
        // `Absent::IsRefused` answers a 404 as a refusal: an object, or an error.
        Ok(object.unwrap_or_default())
    }

    /// The one GET of a JSON object: `absent` says what Genesys's "not found" answer is.
    async fn get_json(
        &self,
        ask: Ask,
        url: &str,
        budget: Budget,
        absent: Absent,
    ) -> Result<Option<Map<String, Value>>, RemoteError> {
        let Ask {
            service,
            what,
            operation,
            denied_hint,
        } = ask;
        self.tokens
            .authorized(service, &self.gate, budget, |token| async move {
                // Built when the attempt starts, after any Retry-After wait.
                let request = self
                    .http
                    .client
                    .get(url)
                    .timeout(self.http.attempt_timeout(budget))
                    .bearer_auth(token.expose_secret());
                let response = http::send(service, operation, request)
                    .await
                    .map_err(|e| Failure::transport(&e, what))?;
                let status = response.status();
                if http::is_transient(status) {
                    let headers = response.headers().clone();
                    return Err(Failure::transient_status(status, &headers, what));
                }
                // Only the path: the query and any user info of the URL stay out of errors.
                let path = response.url().path().to_owned();
                let body = read_capped_to(response, service, what, MAX_BULK_BODY_BYTES).await?;
                if status.is_success() {
                    let object = http::json_object(&body, service, what, "a JSON object")?;
                    return Ok(Authorized::Done(Some(object)));
                }
                if absent == Absent::IsNone
                    && status == reqwest::StatusCode::NOT_FOUND
                    && is_not_found(&body)
                {
                    return Ok(Authorized::Done(None));
                }
                refusal(
                    service,
                    what,
                    status,
                    &error_text(&body),
                    &path,
                    denied_hint,
                )
            })
            .await
    }
}

/// What one GET is, for its errors and metrics.
#[derive(Clone, Copy)]
struct Ask {
    service: Service,
    what: &'static str,
    operation: &'static str,
    denied_hint: &'static str,
}

/// What Genesys's "not found" answer (a 404 with its not-found code) means to the caller.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Absent {
    /// Nothing there: `None`.
    IsNone,
    /// A refusal like any other 4xx: an error naming it.
    IsRefused,
}

/// `field` of `object` as a string, if it is one.
pub(super) fn text<'a>(object: &'a Value, field: &str) -> Option<&'a str> {
    object.get(field).and_then(Value::as_str)
}

/// The `id` of an entry, whatever it is, as a bounded excerpt for a log line.
pub(super) fn id_excerpt(entry: &Value) -> String {
    excerpt(&entry.get("id").map(ToString::to_string).unwrap_or_default())
}

impl<S: SecretSource> GenesysBulk for GenesysUsers<S> {
    const MAX_USERS: usize = MAX_USERS;

    async fn current(
        &self,
        users: &[GenesysUserId],
        budget: Budget,
    ) -> Result<Vec<GenesysNow>, RemoteError> {
        if users.len() > MAX_USERS {
            return Err(RemoteError::Refused {
                service: Service::GenesysUsers,
                detail: format!(
                    "not sent: a bulk read takes at most {MAX_USERS} users, {} were asked for",
                    users.len()
                ),
            });
        }
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let asked: HashSet<&str> = users.iter().map(GenesysUserId::as_str).collect();
        // The ids are validated UUIDs, so they cannot change the query.
        let mut url = format!("{}/api/v2/users?", self.base);
        for id in &asked {
            url.push_str("id=");
            url.push_str(id);
            url.push('&');
        }
        // `state=any`: a deactivated or deleted user is listed as such rather than left out
        // (the default lists active users only), so that the reconciler can let them go.
        // `expand=groups` (and the division every user carries): the scope's memberships.
        url.push_str(&format!(
            "expand=presence&expand=routingStatus&expand=groups&state=any&pageSize={MAX_USERS}"
        ));
        let listing = self
            .get_object(
                Service::GenesysUsers,
                USERS_WHAT,
                "current",
                "the OAuth client's role needs permission to view users and their presence and routing status",
                &url,
                budget,
            )
            .await?;
        users_now(&listing, &asked)
    }

    async fn directory_page(
        &self,
        cursor: Option<&str>,
        budget: Budget,
    ) -> Result<DirectoryPage, RemoteError> {
        let start = start_index(cursor)?;
        let url = format!(
            "{}/api/v2/scim/v2/users?startIndex={start}&count={DIRECTORY_PAGE}&attributes={EXTENSION}:externalIds",
            self.base
        );
        let list = self
            .get_object(
                Service::GenesysScim,
                SCIM_WHAT,
                "directory",
                "the OAuth client's role needs permission to read users through SCIM",
                &url,
                budget,
            )
            .await?;
        directory(&list, start)
    }

    async fn queue_members(
        &self,
        queue: &crate::domain::scope::ScopeId,
        number: u32,
        budget: Budget,
    ) -> Result<crate::ports::QueueMembersPage, RemoteError> {
        self.members_of(queue, number, budget).await
    }
}

/// The longest e-mail address looked up (RFC 5321's path limit).
const MAX_EMAIL_LEN: usize = 254;

/// Whether `email` may go into a SCIM filter as a quoted value: an address's shape, no quote,
/// backslash, space or control character that could change the filter.
fn is_filterable_email(email: &str) -> bool {
    email.len() <= MAX_EMAIL_LEN
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && email
            .chars()
            .all(|c| !c.is_control() && !c.is_whitespace() && c != '"' && c != '\\')
}

impl<S: SecretSource> GenesysUsers<S> {
    /// The Genesys user whose SCIM `userName` (their e-mail) is `email` (an operator names an
    /// agent by it): `GET /api/v2/scim/v2/users?filter=userName eq "<email>"`. `None` when
    /// Genesys knows nobody by it.
    pub async fn find_by_email(
        &self,
        email: &str,
        budget: Budget,
    ) -> Result<Option<GenesysUserId>, RemoteError> {
        if !is_filterable_email(email) {
            return Err(RemoteError::Refused {
                service: Service::GenesysScim,
                detail: format!("not sent: {} is not an e-mail address", excerpt(email)),
            });
        }
        let mut url = Url::parse(&format!("{}/api/v2/scim/v2/users", self.base)).map_err(|e| {
            RemoteError::Configuration {
                service: Service::GenesysScim,
                detail: format!("GENESYS_API_URL does not make a SCIM URL: {e}"),
            }
        })?;
        url.query_pairs_mut()
            .append_pair("filter", &format!("userName eq \"{email}\""))
            .append_pair("attributes", "userName");
        let list = self
            .get_object(
                Service::GenesysScim,
                SCIM_WHAT,
                "find",
                "the OAuth client's role needs permission to read users through SCIM",
                url.as_str(),
                budget,
            )
            .await?;
        let resources = list.get("Resources").and_then(Value::as_array);
        let found = resources
            .into_iter()
            .flatten()
            .filter(|r| text(r, "userName").is_some_and(|n| n.eq_ignore_ascii_case(email)))
            .filter_map(|r| text(r, "id").and_then(GenesysUserId::parse))
            .next();
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::presence::{Observed, RoutingStatus, SystemPresence};
    use crate::domain::version::Version;
    use crate::ports::DirectoryAnswer;
    use serde_json::json;

    const A: &str = "3f9e6a2b-5d4c-4b1a-8e7f-112233445566";
    const B: &str = "3f9e6a2b-5d4c-4b1a-8e7f-112233445567";

    fn listing(entities: Value) -> Map<String, Value> {
        json!({"entities": entities, "pageSize": 100, "pageNumber": 1})
            .as_object()
            .unwrap()
            .clone()
    }

    #[test]
    fn versions_are_genesys_timestamps_and_nothing_is_invented() {
        let asked: HashSet<&str> = [A, B].into_iter().collect();
        let found = users_now(
            &listing(json!([
                {"id": A,
                 "presence": {"presenceDefinition": {"id": "6a3af858-942f-489d-9700-5f9bcdcdae9b", "systemPresence": "Available"}, "modifiedDate": "2026-11-02T08:59:58.101Z"},
                 "routingStatus": {"status": "IDLE"}},
                {"id": B,
                 "presence": {"presenceDefinition": {"systemPresence": "Busy"}, "modifiedDate": "yesterday"},
                 "routingStatus": {"status": "INTERACTING", "startTime": "2026-11-02T09:00:00Z"}},
            ])),
            &asked,
        )
        .unwrap();
        assert_eq!(found.len(), 2);
        let a = &found
            .iter()
            .find(|n| n.user.as_str() == A)
            .unwrap()
            .observation;
        let presence = a.presence.as_ref().unwrap();
        assert_eq!(
            presence.value.system,
            Observed::Known(SystemPresence::Available)
        );
        assert_eq!(
            presence.version,
            Version::parse("2026-11-02T08:59:58.101Z").unwrap()
        );
        assert!(a.routing.is_none(), "no startTime: no routing version");
        let b = &found
            .iter()
            .find(|n| n.user.as_str() == B)
            .unwrap()
            .observation;
        assert!(b.presence.is_none(), "an unparseable modifiedDate");
        assert_eq!(
            b.routing.as_ref().unwrap().value,
            Observed::Known(RoutingStatus::Interacting)
        );
    }

    #[test]
    fn users_not_asked_for_and_huge_values_are_left_out() {
        let asked: HashSet<&str> = [A].into_iter().collect();
        let found = users_now(
            &listing(json!([
                {"id": B, "routingStatus": {"status": "IDLE", "startTime": "2026-11-02T09:00:00Z"}},
                {"id": A, "routingStatus": {"status": "X".repeat(10_000), "startTime": "2026-11-02T09:00:00Z"}},
            ])),
            &asked,
        )
        .unwrap();
        assert_eq!(found.len(), 1);
        assert!(found[0].observation.is_empty());
    }

    #[test]
    fn a_listing_without_entities_names_the_field() {
        let err = users_now(&Map::new(), &HashSet::new()).unwrap_err();
        assert!(err.to_string().contains("`entities`"), "{err}");
    }

    #[test]
    fn cursors_are_start_indexes_and_bad_ones_are_errors() {
        assert_eq!(start_index(None).unwrap(), 1);
        assert_eq!(start_index(Some("101")).unwrap(), 101);
        for bad in [
            "0",
            "-1",
            "+5",
            "abc",
            "",
            "99999999999999999999999",
            &"9".repeat(5000),
        ] {
            let err = start_index(Some(bad)).unwrap_err();
            assert!(err.to_string().contains("cursor"), "{err}");
            assert!(err.to_string().len() < 400, "{err}");
        }
    }

    #[test]
    fn the_next_page_follows_what_this_one_held() {
        let page = |resources: Value, total: u64| {
            json!({"totalResults": total, "startIndex": 1, "itemsPerPage": 2, "Resources": resources})
                .as_object()
                .unwrap()
                .clone()
        };
        let two = json!([
            {"id": A, EXTENSION: {"externalIds": [{"authority": "microsoftteams", "value": "t"}]}},
            {"id": B},
        ]);
        let first = directory(&page(two.clone(), 5), 1).unwrap();
        assert_eq!(first.next.as_deref(), Some("3"));
        assert_eq!(first.users[0].1, DirectoryAnswer::TeamsId("t".into()));
        assert_eq!(first.users[1].1, DirectoryAnswer::NoTeamsId);
        assert_eq!(directory(&page(two, 4), 3).unwrap().next, None);
        assert_eq!(directory(&page(json!([]), 9), 5).unwrap().next, None);
        let err = directory(&Map::new(), 1).unwrap_err();
        assert!(err.to_string().contains("totalResults"), "{err}");
    }

    #[test]
    fn only_an_address_shape_goes_into_a_filter() {
        assert!(is_filterable_email("ana@example.com"));
        for bad in [
            "",
            "ana",
            "@example.com",
            "ana@",
            "a\"b@example.com",
            "a b@example.com",
            "a\\b@x.y",
            "a@b\n",
        ] {
            assert!(!is_filterable_email(bad), "{bad:?}");
        }
        assert!(!is_filterable_email(&format!(
            "{}@example.com",
            "a".repeat(300)
        )));
    }
}
