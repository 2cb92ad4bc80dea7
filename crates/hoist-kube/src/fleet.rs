//! Several clusters at once: the one place where deploys fan out, with bounded concurrency and
//! every cluster's result kept (one failing cluster never stops the others).

use std::future::Future;

use futures::StreamExt as _;

/// Runs `f` for every item, at most `parallel` at a time; results in the items' order.
pub async fn each<T, R, F, Fut>(items: Vec<T>, parallel: usize, f: F) -> Vec<R>
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = R>,
{
    futures::stream::iter(items)
        .map(f)
        .buffered(parallel.max(1))
        .collect()
        .await
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn concurrency_is_bounded_and_order_kept() {
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let out = each((0..6).collect(), 2, |i: u64| {
            let (running, most) = (&running, &most);
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20 * (6 - i))).await;
                running.fetch_sub(1, Ordering::SeqCst);
                i * 10
            }
        })
        .await;
        assert_eq!(out, [0, 10, 20, 30, 40, 50]);
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }
}
