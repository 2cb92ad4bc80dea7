//! hoist-registry's integration tests, one binary (`cargo test -p hoist-registry --test it`):
//! the client against real `docker-registry` instances that hoist-test starts per test (plain,
//! basic auth behind TLS, token auth), and faults in front of them. Every test needs
//! `docker-registry` and openssl (scripts/install-test-deps).

mod registry;
