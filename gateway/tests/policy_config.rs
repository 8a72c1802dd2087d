//! The policy tables in the configuration: `gateway config` prints policies, plans, the key
//! source and the limits with their sources, never a secret, and the print loads back; bad
//! tables are refused naming the key.

use std::process::Command;

use gateway::config::{Config, LimitMode, PolicySpec, Sources};

const FILE: &str = r#"region = "us-east-1"
[policy.keys]
type = "api_key"
[policy.guard]
type = "rate_limit"
rate = 0.5
burst = 3
[plan.standard]
rate = 50
burst = 100
quota = 1000
period = "week"
[limits]
mode = "global"
redis_url = "redis://cache.example.com:6379"
[defaults]
policies = ["guard"]
[[route]]
prefix = "/orders"
upstream = "https://orders.example.com"
policies = ["guard", "keys"]
[[route]]
prefix = "/status"
upstream = "https://status.example.com"
"#;

#[test]
fn gateway_config_prints_policies_with_sources_and_no_secret() {
    let dir = testkit::temp::dir("policy-config");
    let file = dir.path().join("gateway.toml");
    std::fs::write(&file, FILE).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .arg("config")
        .env_clear()
        .env("GATEWAY_CONFIG", &file)
        .env(
            "API_KEYS",
            "[[key]]\nid = \"a\"\ndigest = \"sha256:secretdigest\"\n",
        )
        .env("REDIS_PASSWORD", "hunter2-redis")
        .env("EXPECTED_INSTANCES", "3")
        .output()
        .unwrap();
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in [
        "[policy.keys]",
        "type = \"api_key\"",
        "[plan.standard]",
        "period = \"week\"",
        "# keys is set (env API_KEYS; a secret, not shown)",
        "# password is set (env REDIS_PASSWORD; a secret, not shown)",
        "mode = \"global\"",
        "expected_instances = 3",
        "policies = [\"guard\", \"keys\"]",
        "policies = [\"guard\"]",
    ] {
        assert!(printed.contains(expected), "{expected} missing:\n{printed}");
    }
    assert!(printed.contains("# env EXPECTED_INSTANCES"), "{printed}");
    assert!(
        !printed.contains("secretdigest") && !printed.contains("hunter2"),
        "{printed}"
    );

    // The print loads back (without the secrets, which live only in the environment).
    let again = Config::load(Sources {
        file: Some(("printed.toml".into(), printed.clone())),
        env: |name| (name == "API_KEYS").then(String::new),
    })
    .unwrap();
    assert_eq!(again.policy.limits.mode, LimitMode::Global);
    assert_eq!(again.policy.limits.expected_instances, 3);
    assert_eq!(again.routes[1].settings.policies, ["guard"]);
    assert_eq!(
        again.policy.policies["guard"],
        PolicySpec::RateLimit(gateway::config::Rate {
            per_second: 0.5,
            burst: 3
        })
    );
}

fn load(text: &str) -> Result<Config, String> {
    Config::load(Sources {
        file: Some(("test.toml".into(), text.into())),
        env: |name| (name == "REGION").then(|| "us-east-1".into()),
    })
    .map_err(|e| e.to_string())
}

#[test]
fn bad_policy_tables_are_refused_by_key() {
    let route = "[[route]]\nprefix = \"/a\"\nupstream = \"http://127.0.0.1:1\"\n";
    let cases = [
        (format!("{route}policies = [\"nope\"]"), "route[0].policies = \"nope\": no [policy.nope]"),
        (
            format!("[policy.k]\ntype = \"api_key\"\n{route}policies = [\"k\"]"),
            "an api_key policy needs a key set",
        ),
        (
            format!("[policy.t]\ntype = \"rate_limit\"\nrate = 0\nburst = 1\n{route}policies = [\"t\"]"),
            "policy.t.rate = \"0\"",
        ),
        (format!("[policy.t]\ntype = \"jwt\"\n{route}"), "unknown variant `jwt`"),
        (
            format!("[api_keys]\nfile = \"k\"\n[policy.k]\ntype = \"api_key\"\n[plan.p]\nrate = 1\nburst = 1\nquota = 5\n{route}policies = [\"k\"]"),
            "plan.p.period",
        ),
        (format!("[limits]\nmode = \"global\"\n{route}"), "limits.redis_url"),
        (
            format!("[limits]\nredis_url = \"redis://user:pw@cache.example.com\"\n{route}"),
            "without credentials",
        ),
        (format!("[limits]\nmode = \"everywhere\"\n{route}"), "not local or global"),
    ];
    for (text, expected) in cases {
        let err = load(&text).expect_err(&text);
        assert!(err.contains(expected), "{text}\n=> {err}");
    }
    let unused = load(&format!(
        "[policy.t]\ntype = \"rate_limit\"\nrate = 1\nburst = 1\n{route}"
    ))
    .unwrap();
    assert!(
        unused.warnings[0].contains("[policy.t] has no effect"),
        "{:?}",
        unused.warnings
    );
}
