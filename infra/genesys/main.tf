# Genesys Cloud side of presence-sync (infra/README.md):
# - the Amazon EventBridge Source integration that publishes user activity to a partner
#   event source in your AWS account;
# - the OAuth client (client credentials) the function uses to read agents' Teams ids
#   through SCIM, with a role that can do nothing else, and its secret stored in AWS Secrets
#   Manager.
#
# Genesys lets an OAuth client give away only roles it holds itself (genesyscloud_oauth_client,
# `roles`: "The roles must also already be assigned to the OAuth Client used by Terraform").
# `make deploy` therefore applies the role first (-target=genesyscloud_auth_role.scim_reader),
# grants it to the deployment client, then applies the rest (presencectl/src/deploy).

data "genesyscloud_organizations_me" "current" {}

resource "genesyscloud_integration" "eventbridge" {
  intended_state   = "ENABLED"
  integration_type = "amazon-eventbridge-source"

  config {
    name = var.integration_name
    properties = jsonencode({
      awsAccountId      = var.aws_account_id
      awsAccountRegion  = var.aws_region
      eventSourceSuffix = var.event_source_suffix
      eventFilter       = var.topic_filters
    })
    advanced = jsonencode({})
    notes    = "presence-sync: agent presence to Microsoft Teams. Managed by Terraform (infra/genesys)."
  }
}

# GET /api/v2/scim/users/{userId} (and /api/v2/scim/v2/users/{userId}) requires
# directory:user:view (or directory:user:edit); view is the least of the two. The rest only
# when the stack needs it (the deploy driver sets the variables from the stack's parameters):
# - read_queues (SyncScope names a queue:<id>): routing:queue:view, which GET
#   /api/v2/users/{userId}/queues, GET /api/v2/routing/queues/{queueId}/members and GET
#   /api/v2/routing/queues/{queueId} require (Genesys platform SDK, UsersApi.getUserQueues,
#   RoutingApi.getRoutingQueueMembers and getRoutingQueue). Division and group scopes need
#   nothing more: GET /api/v2/authorization/divisions/{id} and GET /api/v2/groups/{id}
#   "Require NO permissions" (AuthorizationApi.getAuthorizationDivision, GroupsApi.getGroup),
#   and a user's division and groups come with GET /api/v2/users/{id} (directory:user:view);
# - two_way (TeamsToGenesys=on: presence-watch sets agents' Genesys presence):
#   presence:userPresence:edit, to set another user's presence (PresenceApi.putUsersPresencesBulk:
#   "Requires ANY permissions: presence:userPresence:edit"; the SDK lists none for PATCH
#   /api/v2/users/{userId}/presences/purecloud, a user's own; that the same permission covers
#   that PATCH for another user is unverified), and presence:presenceDefinition:view, to read
#   the org's presence definitions (PresenceApi.getPresenceDefinitions0, GET
#   /api/v2/presence/definitions: "Requires ALL permissions: presence:presenceDefinition:view").
resource "genesyscloud_auth_role" "scim_reader" {
  name        = var.role_name
  description = var.two_way ? "presence-sync: read users (their Microsoft Teams external id) through SCIM, and set agents' presence from Teams (TeamsToGenesys). Managed by Terraform (infra/genesys)." : "presence-sync: read users (their Microsoft Teams external id) through SCIM. Managed by Terraform (infra/genesys)."

  permission_policies {
    domain      = "directory"
    entity_name = "user"
    action_set  = ["view"]
  }

  dynamic "permission_policies" {
    for_each = var.read_queues ? ["routing:queue:view"] : []
    content {
      domain      = "routing"
      entity_name = "queue"
      action_set  = ["view"]
    }
  }

  dynamic "permission_policies" {
    for_each = var.two_way ? ["presence:userPresence:edit"] : []
    content {
      domain      = "presence"
      entity_name = "userPresence"
      action_set  = ["edit"]
    }
  }

  dynamic "permission_policies" {
    for_each = var.two_way ? ["presence:presenceDefinition:view"] : []
    content {
      domain      = "presence"
      entity_name = "presenceDefinition"
      action_set  = ["view"]
    }
  }
}

resource "genesyscloud_oauth_client" "presence_sync" {
  name                          = var.oauth_client_name
  description                   = "presence-sync Lambda function: reads agents' Teams ids through SCIM. Managed by Terraform (infra/genesys)."
  authorized_grant_type         = "CLIENT-CREDENTIALS"
  access_token_validity_seconds = var.token_validity_seconds
  state                         = "active"

  # Genesys returns the secret only when the client is created; this keeps it in the
  # Terraform state (sensitive) so that it can be stored in AWS Secrets Manager.
  expose_client_secret = true

  roles {
    role_id     = genesyscloud_auth_role.scim_reader.id
    division_id = var.role_division_id
  }
}

# The client's secret goes straight into Secrets Manager (the stack's ExistingGenesysSecretArn):
# it never passes through a terminal, a file or another process. A new client
# (-replace=genesyscloud_oauth_client.presence_sync) writes its secret in the same apply.
resource "aws_secretsmanager_secret" "genesys" {
  name_prefix = var.secret_name_prefix
  description = "presence-sync: the Genesys OAuth client {client_id, client_secret}. Managed by Terraform (infra/genesys)."
  # Encrypted with the AWS managed key aws/secretsmanager. A destroy keeps it recoverable for
  # a week.
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "genesys" {
  secret_id = aws_secretsmanager_secret.genesys.id
  secret_string = jsonencode({
    client_id     = genesyscloud_oauth_client.presence_sync.id
    client_secret = genesyscloud_oauth_client.presence_sync.client_secret
  })
}

# The watcher's own client (two_way): Genesys limits requests per client credentials token
# (about 300 a minute, ../shared/reference), so a client of its own gives presence-watch a
# limit of its own instead of a fifth of the one presence-sync's lookups and the reconciler
# share (docs/design.md, "Cost and limits"). The same role: the watcher reads users (Teams ids,
# their presence and routing status) and sets their presence, which is what two_way adds.
resource "genesyscloud_oauth_client" "presence_watch" {
  count                         = var.two_way ? 1 : 0
  name                          = "${var.oauth_client_name}-watch"
  description                   = "presence-watch Lambda function: sets agents' presence from Microsoft Teams. Managed by Terraform (infra/genesys)."
  authorized_grant_type         = "CLIENT-CREDENTIALS"
  access_token_validity_seconds = var.token_validity_seconds
  state                         = "active"
  expose_client_secret          = true

  roles {
    role_id     = genesyscloud_auth_role.scim_reader.id
    division_id = var.role_division_id
  }
}

# Its secret, as the function's: straight from Genesys into Secrets Manager (the stack's
# ExistingWatcherGenesysSecretArn).
resource "aws_secretsmanager_secret" "watcher" {
  count                   = var.two_way ? 1 : 0
  name_prefix             = "${var.secret_name_prefix}watch-"
  description             = "presence-watch: its own Genesys OAuth client {client_id, client_secret}. Managed by Terraform (infra/genesys)."
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "watcher" {
  count     = var.two_way ? 1 : 0
  secret_id = aws_secretsmanager_secret.watcher[0].id
  secret_string = jsonencode({
    client_id     = genesyscloud_oauth_client.presence_watch[0].id
    client_secret = genesyscloud_oauth_client.presence_watch[0].client_secret
  })
}
