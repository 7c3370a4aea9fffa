//! The Genesys Cloud regions: the AWS region each one runs in and its region host (login is
//! `https://login.<host>`, the API `https://api.<host>`). One table, so that an operator names
//! the region once, in whichever form they know, and every other form is derived from it.
//! Source: the Genesys JavaScript SDK's `PureCloudRegionHosts.js`
//! (../shared/reference/README.md, "Region hosts").

use crate::domain::excerpt::excerpt;

/// One Genesys Cloud region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GenesysRegion {
    /// The AWS region the Genesys org runs in (the Genesys Terraform provider's `aws_region`).
    pub aws_region: &'static str,
    /// The region host (the functions' `GENESYS_ENVIRONMENT`, template.yaml's
    /// `GenesysEnvironment`).
    pub host: &'static str,
}

const fn region(aws_region: &'static str, host: &'static str) -> GenesysRegion {
    GenesysRegion { aws_region, host }
}

/// Every Genesys Cloud region, in the order of the reference.
pub const GENESYS_REGIONS: [GenesysRegion; 18] = [
    region("us-east-1", "mypurecloud.com"),
    region("eu-west-1", "mypurecloud.ie"),
    region("ap-southeast-2", "mypurecloud.com.au"),
    region("ap-northeast-1", "mypurecloud.jp"),
    region("eu-central-1", "mypurecloud.de"),
    region("us-west-2", "usw2.pure.cloud"),
    region("ca-central-1", "cac1.pure.cloud"),
    region("ap-northeast-2", "apne2.pure.cloud"),
    region("eu-west-2", "euw2.pure.cloud"),
    region("ap-south-1", "aps1.pure.cloud"),
    region("us-east-2", "use2.us-gov-pure.cloud"),
    region("sa-east-1", "sae1.pure.cloud"),
    region("me-central-1", "mec1.pure.cloud"),
    region("ap-northeast-3", "apne3.pure.cloud"),
    region("eu-central-2", "euc2.pure.cloud"),
    region("mx-central-1", "mxc1.pure.cloud"),
    region("ap-southeast-1", "apse1.pure.cloud"),
    region("eusc-de-east-1", "edee1.eusc-pure.cloud"),
];

/// A name that is none of the forms of a known Genesys Cloud region.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "{given} is not a Genesys Cloud region: give its AWS region (eu-west-1), its host (mypurecloud.ie), or the address you sign in at (https://login.mypurecloud.ie, https://apps.mypurecloud.ie)"
)]
pub struct UnknownGenesysRegion {
    /// The input, quoted and cut.
    pub given: String,
}

impl GenesysRegion {
    /// The region named in any form an operator knows: the AWS region (`eu-west-1`), the
    /// region host (`mypurecloud.ie`), or a host or URL under it (`login.mypurecloud.ie`,
    /// `https://api.mypurecloud.ie/api/v2`, `https://apps.mypurecloud.ie/directory/`).
    pub fn parse(given: &str) -> Result<GenesysRegion, UnknownGenesysRegion> {
        let host = host_of(given);
        GENESYS_REGIONS
            .iter()
            .find(|region| {
                host == region.aws_region
                    || host == region.host
                    || host.strip_suffix(region.host).is_some_and(|sub| {
                        sub.ends_with('.') && !sub[..sub.len() - 1].contains('.')
                    })
            })
            .copied()
            .ok_or_else(|| UnknownGenesysRegion {
                given: excerpt(given),
            })
    }
}

/// The host part of what was given, lower case: without scheme, user info, port, path or a
/// trailing dot.
fn host_of(given: &str) -> String {
    let text = given.trim().to_ascii_lowercase();
    let without_scheme = text
        .split_once("://")
        .map_or(text.as_str(), |(_, rest)| rest);
    let authority = without_scheme
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    let host = host.split(':').next().unwrap_or_default();
    host.trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(given: &str) -> Option<(&'static str, &'static str)> {
        GenesysRegion::parse(given)
            .ok()
            .map(|r| (r.aws_region, r.host))
    }

    #[test]
    fn every_form_of_a_region_names_the_same_region() {
        let ireland = Some(("eu-west-1", "mypurecloud.ie"));
        for form in [
            "eu-west-1",
            "EU-West-1 ",
            "mypurecloud.ie",
            "mypurecloud.ie.",
            "login.mypurecloud.ie",
            "api.mypurecloud.ie",
            "https://login.mypurecloud.ie",
            "https://api.mypurecloud.ie/api/v2/users",
            "https://apps.mypurecloud.ie/directory/#/person",
            "https://apps.mypurecloud.ie:443/",
        ] {
            assert_eq!(parsed(form), ireland, "{form}");
        }
        assert_eq!(
            parsed("usw2.pure.cloud"),
            Some(("us-west-2", "usw2.pure.cloud"))
        );
        assert_eq!(
            parsed("https://login.use2.us-gov-pure.cloud"),
            Some(("us-east-2", "use2.us-gov-pure.cloud"))
        );
    }

    #[test]
    fn a_longer_host_is_not_taken_for_a_shorter_one() {
        // mypurecloud.com.au ends like neither mypurecloud.com nor another region.
        assert_eq!(
            parsed("mypurecloud.com.au"),
            Some(("ap-southeast-2", "mypurecloud.com.au"))
        );
        assert_eq!(
            parsed("login.mypurecloud.com.au"),
            Some(("ap-southeast-2", "mypurecloud.com.au"))
        );
        assert_eq!(parsed("evilmypurecloud.com"), None);
        assert_eq!(parsed("a.b.mypurecloud.com"), None);
    }

    #[test]
    fn an_unknown_name_is_refused_with_the_forms_that_work() {
        for given in ["", "eu-west-9", "purecloud", "example.com", "https://"] {
            let error = GenesysRegion::parse(given).expect_err(given);
            assert!(error.to_string().contains("mypurecloud.ie"), "{error}");
        }
    }

    #[test]
    fn the_table_has_each_region_and_each_host_once() {
        let mut regions: Vec<&str> = GENESYS_REGIONS.iter().map(|r| r.aws_region).collect();
        let mut hosts: Vec<&str> = GENESYS_REGIONS.iter().map(|r| r.host).collect();
        regions.sort_unstable();
        regions.dedup();
        hosts.sort_unstable();
        hosts.dedup();
        assert_eq!(regions.len(), GENESYS_REGIONS.len());
        assert_eq!(hosts.len(), GENESYS_REGIONS.len());
    }
}
