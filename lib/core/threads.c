/*
 * lib/core/threads.c -- the worker pool of sn_threads.h.
 *
 * A job is announced by bumping a generation counter under the mutex and
 * broadcasting; each worker runs it once and counts down `pending`; the
 * last one wakes the caller. Both sides first poll for a short while
 * before they sleep on the condition variable: a training step of a small
 * recurrent model takes a fraction of a millisecond, and waking a thread
 * through the kernel costs tens of microseconds on a virtual machine. The
 * poll is bounded, so an idle pool sleeps and costs nothing.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "core/sn_threads.h"

/* Polls of the generation (or of pending) before sleeping: a few tens of
 * microseconds. */
#define SN_POOL_SPINS 4000

struct sn_pool {
    sn_alloc alloc;
    int n;                      /* workers, the caller included */
    int started;                /* threads actually running */
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    atomic_uint gen;            /* bumped once per job (under mu) */
    atomic_int pending;         /* workers (threads) still on the job */
    atomic_int stop;
    sn_pool_fn fn;
    void *arg;
};

typedef struct worker_arg {
    sn_pool *pool;
    int index;
} worker_arg;

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void *worker_main(void *p_)
{
    worker_arg *wa = p_;
    sn_pool *p = wa->pool;
    int index = wa->index;
    unsigned seen = 0;
    for (;;) {
        unsigned g = atomic_load_explicit(&p->gen, memory_order_acquire);
        int spins = 0;
        while (g == seen && !atomic_load_explicit(&p->stop, memory_order_acquire) &&
               spins++ < SN_POOL_SPINS) {
            cpu_relax();
            g = atomic_load_explicit(&p->gen, memory_order_acquire);
        }
        if (g == seen) {
            pthread_mutex_lock(&p->mu);
            while ((g = atomic_load(&p->gen)) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->wake, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (g == seen) /* woken to stop */
            break;
        seen = g;
        p->fn(p->arg, index);
        if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

int sn_pool_new(const sn_alloc *a, int n, sn_pool **out)
{
    sn_pool *p;
    worker_arg *args;
    int k;
    *out = NULL;
    if (n < 2)
        return SEQNET_EINVAL;
    p = sn_calloc(a, 1, sizeof *p + (size_t)(n - 1) * sizeof(worker_arg));
    if (p == NULL)
        return SEQNET_ENOMEM;
    p->alloc = *a;
    p->n = n;
    p->threads = sn_calloc(a, (size_t)(n - 1), sizeof *p->threads);
    if (p->threads == NULL) {
        sn_free(a, p);
        return SEQNET_ENOMEM;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    atomic_init(&p->gen, 0u);
    atomic_init(&p->pending, 0);
    atomic_init(&p->stop, 0);
    args = (worker_arg *)(p + 1);
    for (k = 0; k < n - 1; k++) {
        args[k].pool = p;
        args[k].index = k + 1;
        if (pthread_create(&p->threads[k], NULL, worker_main, &args[k]) != 0) {
            sn_pool_free(p);
            return SEQNET_ENOMEM;
        }
        p->started++;
    }
    *out = p;
    return SEQNET_OK;
}

void sn_pool_run(sn_pool *p, sn_pool_fn fn, void *arg)
{
    int spins = 0;
    p->fn = fn;
    p->arg = arg;
    atomic_store_explicit(&p->pending, p->n - 1, memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1u, memory_order_release);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    fn(arg, 0);
    while (atomic_load_explicit(&p->pending, memory_order_acquire) > 0 &&
           spins++ < SN_POOL_SPINS)
        cpu_relax();
    if (atomic_load_explicit(&p->pending, memory_order_acquire) > 0) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->pending) > 0)
            pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}

void sn_pool_free(sn_pool *p)
{
    sn_alloc a;
    int k;
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (k = 0; k < p->started; k++)
        pthread_join(p->threads[k], NULL);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
    a = p->alloc;
    sn_free(&a, p->threads);
    sn_free(&a, p);
}
