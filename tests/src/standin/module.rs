//! What the stand-in `terraform` reads of a root module's `.tf` files, as Terraform would: the
//! managed resources (`resource "T" "N"`, not `data`), whether one adopts an object that
//! existed before it (`use_existing = true`: the azuread provider then "will use that instead
//! of creating a new one", hashicorp/terraform-provider-azuread#538, and deletes it on destroy
//! all the same, #1141 and pulumi/pulumi-azuread#2045, where a Microsoft first-party service
//! principal was deleted), and the `removed { from = … lifecycle { destroy = false } }` blocks
//! (Terraform 1.7: "remove a resource from state without destroying it").
//!
//! A line scan, enough for this repository's modules: one block header per line, braces
//! balanced on their lines.

use std::path::Path;

/// A managed resource of the module.
#[derive(Debug, Clone)]
pub struct Resource {
    /// `type.name`.
    pub address: String,
    /// `use_existing = true`: the object existed before Terraform, which destroys it anyway.
    pub adopts_existing: bool,
    /// The block's text, for its references to other resources.
    body: String,
}

impl Resource {
    /// Whether the block refers to `address` (`genesyscloud_auth_role.scim_reader.id`): the
    /// resource depends on it.
    pub fn refers_to(&self, address: &str) -> bool {
        self.body
            .match_indices(address)
            .any(|(at, _)| self.body[at + address.len()..].starts_with('.'))
    }
}

/// What a module declares.
#[derive(Debug, Default)]
pub struct Module {
    pub resources: Vec<Resource>,
    /// Addresses a `removed` block forgets without destroying.
    pub forgotten: Vec<String>,
}

/// The module in `dir` (every `*.tf` file; none: an empty module).
pub fn read(dir: &Path) -> Module {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "tf"))
        .collect();
    files.sort();
    let mut module = Module::default();
    for file in files {
        scan(
            &std::fs::read_to_string(&file).unwrap_or_default(),
            &mut module,
        );
    }
    module
}

/// The block being read at depth 1.
enum Block {
    Resource(Resource),
    Removed { from: Option<String>, keep: bool },
    Other,
}

fn scan(text: &str, module: &mut Module) {
    let mut depth = 0usize;
    let mut block = Block::Other;
    for raw in text.lines() {
        let line = raw.split('#').next().unwrap_or_default().trim();
        if depth == 0 {
            block = header(line);
        } else {
            note(&mut block, line);
        }
        if let Block::Resource(resource) = &mut block {
            resource.body.push_str(line);
            resource.body.push('\n');
        }
        depth += line.matches('{').count();
        depth = depth.saturating_sub(line.matches('}').count());
        if depth == 0 {
            match std::mem::replace(&mut block, Block::Other) {
                Block::Resource(resource) => module.resources.push(resource),
                Block::Removed {
                    from: Some(from),
                    keep: true,
                } => module.forgotten.push(from),
                _ => {}
            }
        }
    }
}

fn header(line: &str) -> Block {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["resource", kind, name, ..] => Block::Resource(Resource {
            address: format!("{}.{}", kind.trim_matches('"'), name.trim_matches('"')),
            adopts_existing: false,
            body: String::new(),
        }),
        ["removed", ..] => Block::Removed {
            from: None,
            keep: false,
        },
        _ => Block::Other,
    }
}

fn note(block: &mut Block, line: &str) {
    let Some((key, value)) = line.split_once('=') else {
        return;
    };
    let (key, value) = (key.trim(), value.trim());
    match block {
        Block::Resource(resource) if key == "use_existing" => {
            resource.adopts_existing = value == "true";
        }
        Block::Removed { from, .. } if key == "from" => *from = Some(value.to_owned()),
        Block::Removed { keep, .. } if key == "destroy" => *keep = value == "false",
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managed_resources_adoption_and_removed_blocks_are_read() {
        let mut module = Module::default();
        scan(
            r#"
data "azuread_service_principal" "graph" {
  client_id = "x"
}
resource "azuread_service_principal" "msgraph" {
  client_id    = "y" # {
  use_existing = true
}
resource "azuread_application" "app" {
  required_resource_access {
    resource_app_id = azuread_service_principal.msgraph_old.id
  }
}
removed {
  from = azuread_service_principal.old
  lifecycle {
    destroy = false
  }
}
"#,
            &mut module,
        );
        let read: Vec<(&str, bool)> = module
            .resources
            .iter()
            .map(|r| (r.address.as_str(), r.adopts_existing))
            .collect();
        assert_eq!(
            read,
            [
                ("azuread_service_principal.msgraph", true),
                ("azuread_application.app", false)
            ]
        );
        // A reference is the address followed by an attribute, not a longer name.
        assert!(module.resources[1].refers_to("azuread_service_principal.msgraph_old"));
        assert!(!module.resources[1].refers_to("azuread_service_principal.msgraph"));
        assert_eq!(module.forgotten, vec!["azuread_service_principal.old"]);
    }
}
