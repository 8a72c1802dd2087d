//! The audit trail's caller identity in AWS: STS `GetCallerIdentity` against moto's server,
//! through the same bundled-roots client as the other SDK clients. Alone in its file: it sets
//! the environment the AWS SDK reads.

mod common;

use common::moto;

#[test]
fn the_aws_caller_identity_comes_from_sts() {
    let Some(moto) = moto::Moto::start() else {
        return;
    };
    // One test in this process sets the environment the AWS SDK reads.
    for (k, v) in [
        ("AWS_ENDPOINT_URL", moto.url.as_str()),
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_CONFIG_FILE", "/nonexistent/aws-config"),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        ),
    ] {
        std::env::set_var(k, v);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let who = rt.block_on(failover::audit::Who::aws(
        "us-west-2",
        std::time::Duration::from_secs(5),
    ));
    assert_eq!(who.kind, "aws");
    assert_eq!(who.error, None, "{who:?}");
    assert!(who.identity.starts_with("arn:aws:"), "{who:?}");
    assert!(who.account.is_some(), "{who:?}");
}
