//! Finds the route for a request, in Kong's order.
//!
//! Kong 3 (`traditional_compatible` router) gives each route a priority and tries the highest
//! first. A route with several paths is split in one entry per path. Highest first:
//! 1. the number of criteria the route sets among `methods`, `hosts` and `paths`;
//! 2. `hosts` with no wildcard;
//! 3. a regex path (any regex path goes before every prefix path);
//! 4. for regex paths, the higher `regex_priority`;
//! 5. for prefix paths, the longer prefix.
//!
//! Kong leaves ties in no documented order; here the route that comes first in the file wins.
//!
//! A prefix path matches on bytes, as in Kong: `/openai-route` matches `/openai-route`,
//! `/openai-route/x` and also `/openai-routeX`. End a prefix with `/` to match whole segments
//! only. Paths are matched as received (Kong normalizes percent-encoding and dot segments first;
//! the caller does that if it wants to).

use std::borrow::Cow;

use regex::Regex;

use crate::config::{GatewayConfig, HostPattern, RoutePath};

/// The routes of one configuration, sorted for matching.
#[derive(Debug)]
pub struct Router {
    entries: Vec<Entry>,
    criteria: Vec<Criteria>,
}

/// The route a request matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    /// Index into [`GatewayConfig::routes`].
    pub route: usize,
    /// The named captures of the matched regex path that took part in the match, in pattern
    /// order (Kong's `uri_captures`). Empty for a prefix path.
    pub captures: Vec<(String, String)>,
    /// How many leading bytes of the path `strip_path` removes (0 when the route keeps it).
    /// Kept as a length so that only the routes that forward the path pay for building it.
    strip_len: usize,
}

impl RouteMatch {
    /// The request path with the matched part removed when the route has `strip_path`, else the
    /// whole path (Kong's `path_handling: v0`). Always starts with `/`.
    pub fn stripped_path<'p>(&self, path: &'p str) -> Cow<'p, str> {
        let rest = path.get(self.strip_len..).unwrap_or("");
        if rest.starts_with('/') {
            Cow::Borrowed(rest)
        } else {
            Cow::Owned(format!("/{rest}"))
        }
    }
}

/// One path of one route.
#[derive(Debug)]
struct Entry {
    route: usize,
    path: EntryPath,
}

#[derive(Debug)]
enum EntryPath {
    /// The route sets no paths: any path matches.
    Any,
    Prefix(String),
    Regex {
        regex: Regex,
        has_names: bool,
    },
}

/// The criteria that every path of a route shares.
#[derive(Debug)]
struct Criteria {
    methods: Vec<String>,
    hosts: Vec<HostPattern>,
    strip_path: bool,
}

/// Kong's priority of an entry; entries are tried from the largest key down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Priority {
    criteria_count: u8,
    plain_hosts_only: bool,
    is_regex: bool,
    regex_priority: i64,
    prefix_len: usize,
}

impl Router {
    pub fn new(config: &GatewayConfig) -> Router {
        let mut keyed = Vec::new();
        let mut criteria = Vec::with_capacity(config.routes.len());
        for (route_index, route) in config.routes.iter().enumerate() {
            criteria.push(Criteria {
                methods: route.methods.clone(),
                hosts: route.hosts.clone(),
                strip_path: route.strip_path,
            });
            let criteria_count = [
                !route.methods.is_empty(),
                !route.hosts.is_empty(),
                !route.paths.is_empty(),
            ]
            .into_iter()
            .map(u8::from)
            .sum();
            let base = Priority {
                criteria_count,
                plain_hosts_only: !route.hosts.is_empty()
                    && route.hosts.iter().all(|host| !host.is_wildcard()),
                is_regex: false,
                regex_priority: 0,
                prefix_len: 0,
            };
            if route.paths.is_empty() {
                keyed.push((base, route_index, 0, EntryPath::Any));
            }
            for (path_index, path) in route.paths.iter().enumerate() {
                let (priority, entry_path) = match path {
                    RoutePath::Prefix(prefix) => (
                        Priority {
                            prefix_len: prefix.len(),
                            ..base
                        },
                        EntryPath::Prefix(prefix.clone()),
                    ),
                    RoutePath::Regex { regex, .. } => (
                        Priority {
                            is_regex: true,
                            regex_priority: route.regex_priority,
                            ..base
                        },
                        EntryPath::Regex {
                            regex: regex.clone(),
                            has_names: regex.capture_names().flatten().next().is_some(),
                        },
                    ),
                };
                keyed.push((priority, route_index, path_index, entry_path));
            }
        }
        keyed.sort_by(|left, right| {
            right
                .0
                .cmp(&left.0)
                .then(left.1.cmp(&right.1))
                .then(left.2.cmp(&right.2))
        });
        Router {
            entries: keyed
                .into_iter()
                .map(|(_, route, _, path)| Entry { route, path })
                .collect(),
            criteria,
        }
    }

    /// The route for a request. `host` is the `Host` header (its port is compared only with
    /// host patterns that name one); `path` is the request path without its query string.
    /// Allocates only when a route matches.
    pub fn find(&self, method: &str, host: Option<&str>, path: &str) -> Option<RouteMatch> {
        self.entries.iter().find_map(|entry| {
            let criteria = self.criteria.get(entry.route)?;
            if !criteria.methods.is_empty() && !criteria.methods.iter().any(|m| m == method) {
                return None;
            }
            if !criteria.hosts.is_empty() {
                let host = host?;
                if !criteria.hosts.iter().any(|pattern| pattern.matches(host)) {
                    return None;
                }
            }
            let (matched_len, captures) = match &entry.path {
                EntryPath::Any => (0, Vec::new()),
                EntryPath::Prefix(prefix) => {
                    if !path.starts_with(prefix.as_str()) {
                        return None;
                    }
                    (prefix.len(), Vec::new())
                }
                EntryPath::Regex { regex, has_names } => {
                    let found = regex.find(path)?;
                    let captures = if *has_names {
                        named_captures(regex, path)
                    } else {
                        Vec::new()
                    };
                    (found.end(), captures)
                }
            };
            Some(RouteMatch {
                route: entry.route,
                captures,
                strip_len: if criteria.strip_path { matched_len } else { 0 },
            })
        })
    }
}

fn named_captures(regex: &Regex, path: &str) -> Vec<(String, String)> {
    let Some(found) = regex.captures(path) else {
        return Vec::new();
    };
    regex
        .capture_names()
        .flatten()
        .filter_map(|name| {
            found
                .name(name)
                .map(|value| (name.to_owned(), value.as_str().to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;

    /// A router over one service whose routes are given as YAML list items.
    fn router(routes_yaml: &str) -> (Router, GatewayConfig) {
        let mut text = String::from(
            "_format_version: \"3.0\"\nservices:\n- name: svc\n  host: localhost\n  routes:\n",
        );
        for line in routes_yaml.lines() {
            text.push_str("  ");
            text.push_str(line);
            text.push('\n');
        }
        let config = load_str(&text, "test.yaml", &|_| None).unwrap();
        (Router::new(&config), config)
    }

    fn route_name<'c>(
        config: &'c GatewayConfig,
        router: &Router,
        method: &str,
        host: Option<&str>,
        path: &str,
    ) -> Option<&'c str> {
        router
            .find(method, host, path)
            .map(|found| config.routes[found.route].name.as_str())
    }

    #[test]
    fn the_longest_prefix_wins_whatever_the_file_order() {
        let (router, config) =
            router("- name: short\n  paths: [/openai]\n- name: long\n  paths: [/openai/v1/chat]\n");
        assert_eq!(
            route_name(
                &config,
                &router,
                "POST",
                None,
                "/openai/v1/chat/completions"
            ),
            Some("long")
        );
        assert_eq!(
            route_name(&config, &router, "POST", None, "/openai/v1/models"),
            Some("short")
        );
        assert_eq!(route_name(&config, &router, "POST", None, "/other"), None);
    }

    #[test]
    fn a_prefix_matches_bytes_not_segments() {
        let (router, config) = router("- name: r\n  paths: [/openai-route]\n");
        for path in ["/openai-route", "/openai-route/x", "/openai-routeX"] {
            assert_eq!(
                route_name(&config, &router, "GET", None, path),
                Some("r"),
                "{path}"
            );
        }
        assert_eq!(
            route_name(&config, &router, "GET", None, "/openai-rout"),
            None
        );
    }

    #[test]
    fn regex_paths_go_before_prefix_paths() {
        let (router, config) = router(
            "- name: prefix\n  paths: [/v1/chat/completions]\n- name: regex\n  paths: ['~/v1/.*']\n",
        );
        assert_eq!(
            route_name(&config, &router, "POST", None, "/v1/chat/completions"),
            Some("regex")
        );
    }

    #[test]
    fn higher_regex_priority_first_then_file_order() {
        let (router, config) = router(
            "- name: first\n  paths: ['~/a']\n\
             - name: second\n  paths: ['~/a/b']\n\
             - name: urgent\n  paths: ['~/a/b/c']\n  regex_priority: 5\n",
        );
        assert_eq!(
            route_name(&config, &router, "GET", None, "/a/b/c"),
            Some("urgent")
        );
        assert_eq!(
            route_name(&config, &router, "GET", None, "/a/b"),
            Some("first")
        );
    }

    #[test]
    fn more_criteria_and_plain_hosts_win() {
        let (router, config) = router(
            "- name: path-only\n  paths: [/chat]\n\
             - name: wildcard\n  paths: [/chat]\n  hosts: ['*.example.com']\n\
             - name: plain\n  paths: [/chat]\n  hosts: [api.example.com]\n",
        );
        assert_eq!(
            route_name(&config, &router, "GET", Some("api.example.com"), "/chat"),
            Some("plain")
        );
        assert_eq!(
            route_name(&config, &router, "GET", Some("eu.example.com"), "/chat"),
            Some("wildcard")
        );
        assert_eq!(
            route_name(&config, &router, "GET", Some("other.org"), "/chat"),
            Some("path-only")
        );
        assert_eq!(
            route_name(&config, &router, "GET", None, "/chat"),
            Some("path-only")
        );
    }

    #[test]
    fn methods_restrict_a_route() {
        let (router, config) = router(
            "- name: post\n  paths: [/chat]\n  methods: [POST]\n- name: any\n  paths: [/chat]\n",
        );
        assert_eq!(
            route_name(&config, &router, "POST", None, "/chat"),
            Some("post")
        );
        assert_eq!(
            route_name(&config, &router, "GET", None, "/chat"),
            Some("any")
        );
    }

    #[test]
    fn a_route_with_only_hosts_matches_any_path() {
        let (router, config) =
            router("- name: host\n  hosts: [ai.example.com]\n  strip_path: true\n");
        let found = router
            .find("GET", Some("ai.example.com:8000"), "/v1/models")
            .unwrap();
        assert_eq!(config.routes[found.route].name, "host");
        assert_eq!(found.stripped_path("/v1/models"), "/v1/models");
        assert!(router
            .find("GET", Some("else.example.com"), "/v1/models")
            .is_none());
    }

    #[test]
    fn named_captures_are_returned_in_pattern_order() {
        let (router, _) = router(
            "- name: gemini\n  paths: ['~/gemini/(?<model>[^/:]+)(:(?<op>[a-z]+))?(/(?<unused>x))?$']\n",
        );
        let found = router
            .find("POST", None, "/gemini/gemini-2.0-flash:generate")
            .unwrap();
        assert_eq!(
            found.captures,
            [
                ("model".to_owned(), "gemini-2.0-flash".to_owned()),
                ("op".to_owned(), "generate".to_owned())
            ]
        );
        assert!(router.find("POST", None, "/x/gemini/m").is_none());
    }

    #[test]
    fn strip_path_removes_the_matched_part() {
        let (router, config) = router(
            "- name: prefix\n  paths: [/openai]\n\
             - name: regex\n  paths: ['~/models/(?<model>[^/]+)']\n\
             - name: kept\n  paths: [/keep]\n  strip_path: false\n",
        );
        let stripped = |path: &str| {
            router
                .find("GET", None, path)
                .unwrap()
                .stripped_path(path)
                .into_owned()
        };
        assert_eq!(stripped("/openai/v1/chat"), "/v1/chat");
        assert_eq!(stripped("/openai"), "/");
        assert_eq!(stripped("/openaiX"), "/X");
        assert_eq!(stripped("/models/gpt-4o/chat"), "/chat");
        assert_eq!(stripped("/keep/this"), "/keep/this");
        let found = router.find("GET", None, "/models/gpt-4o/chat").unwrap();
        assert_eq!(config.routes[found.route].name, "regex");
        assert_eq!(found.captures, [("model".to_owned(), "gpt-4o".to_owned())]);
    }

    #[test]
    fn each_path_of_a_route_has_its_own_priority() {
        let (router, config) = router(
            "- name: mixed\n  paths: [/a, '~/b/(?<x>.+)']\n- name: longer\n  paths: [/a/b]\n",
        );
        assert_eq!(
            route_name(&config, &router, "GET", None, "/a/b"),
            Some("longer")
        );
        assert_eq!(
            route_name(&config, &router, "GET", None, "/a/c"),
            Some("mixed")
        );
        let found = router.find("GET", None, "/b/y").unwrap();
        assert_eq!(config.routes[found.route].name, "mixed");
        assert_eq!(found.captures, [("x".to_owned(), "y".to_owned())]);
    }
}
