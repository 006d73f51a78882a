//! National clouds: each sets the Graph host, the login host and the
//! scope prefix together, from the spec's `x-specbound-hosts`.

use super::spec::API;

/// Which Microsoft cloud a client talks to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum Cloud {
    /// The global service (also US Government L4 "GCC" moderate).
    #[default]
    Global,
    /// US Government L4 (GCC High): `graph.microsoft.us`.
    UsGovL4,
    /// US Government L5 (DoD): `dod-graph.microsoft.us`, signing in at the
    /// US Government login host.
    UsGovL5,
    /// Microsoft Graph China operated by 21Vianet.
    China,
    /// Any other pair of hosts (a sandbox, a proxy, a sovereign cloud).
    Custom {
        /// The Graph host root, such as `https://graph.example` (no version).
        graph: String,
        /// The login host root, such as `https://login.example`.
        login: String,
    },
}

impl Cloud {
    /// The spec's name of this cloud in `x-specbound-hosts` (`custom` for [`Cloud::Custom`]).
    pub fn name(&self) -> &'static str {
        match self {
            Cloud::Global => "global",
            Cloud::UsGovL4 => "us_gov_l4",
            Cloud::UsGovL5 => "us_gov_l5",
            Cloud::China => "china",
            Cloud::Custom { .. } => "custom",
        }
    }

    fn host(&self, role: &str) -> &str {
        match self {
            Cloud::Custom { graph, login } => {
                if role == "graph" {
                    graph.trim_end_matches('/')
                } else {
                    login.trim_end_matches('/')
                }
            }
            // Every named cloud is in the spec; the lookup cannot fail for them.
            named => API.host(named.name(), role).unwrap_or_default(),
        }
    }

    /// The Graph host root, without a version (`https://graph.microsoft.com`).
    pub fn graph_host(&self) -> &str {
        self.host("graph")
    }

    /// The identity platform's host root (`https://login.microsoftonline.com`).
    pub fn login_host(&self) -> &str {
        self.host("login")
    }

    /// A Graph permission as this cloud's token endpoint wants it:
    /// `Mail.Read` becomes `https://graph.microsoft.us/Mail.Read` in US
    /// Government L4. The OpenID scopes (`offline_access`, `openid`,
    /// `profile`, `email`) and full URIs are kept as they are.
    pub fn scope(&self, scope: &str) -> String {
        if scope.contains("://")
            || matches!(scope, "offline_access" | "openid" | "profile" | "email")
        {
            return scope.to_string();
        }
        format!("{}/{scope}", self.graph_host())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cloud_names_its_graph_and_login_hosts_and_prefixes_scopes() {
        let cases = [
            (
                Cloud::Global,
                "https://graph.microsoft.com",
                "https://login.microsoftonline.com",
            ),
            (
                Cloud::UsGovL4,
                "https://graph.microsoft.us",
                "https://login.microsoftonline.us",
            ),
            (
                Cloud::UsGovL5,
                "https://dod-graph.microsoft.us",
                "https://login.microsoftonline.us",
            ),
            (
                Cloud::China,
                "https://microsoftgraph.chinacloudapi.cn",
                "https://login.chinacloudapi.cn",
            ),
        ];
        for (cloud, graph, login) in cases {
            assert_eq!(cloud.graph_host(), graph);
            assert_eq!(cloud.login_host(), login);
            assert_eq!(cloud.scope("Mail.Read"), format!("{graph}/Mail.Read"));
            assert_eq!(cloud.scope("offline_access"), "offline_access");
        }
        let custom = Cloud::Custom {
            graph: "http://127.0.0.1:9/".into(),
            login: "http://127.0.0.1:9".into(),
        };
        assert_eq!(custom.graph_host(), "http://127.0.0.1:9");
        assert_eq!(custom.scope(".default"), "http://127.0.0.1:9/.default");
    }
}
