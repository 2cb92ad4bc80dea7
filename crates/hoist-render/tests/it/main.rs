//! hoist-render's integration tests, one binary (`cargo test -p hoist-render --test it`): the
//! render output of the examples as insta snapshots (`it/snapshots/`), and the properties of it
//! a reviewer would check by eye. None needs a service.

mod render;
