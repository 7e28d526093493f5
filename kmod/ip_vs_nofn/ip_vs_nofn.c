// SPDX-License-Identifier: GPL-2.0
/*
 * IPVS: N-of-N round robin scheduling module (the notebook's exercise).
 *
 * Round robin over the destinations that are not overloaded and have a
 * positive weight, where the k-th destination visited keeps the next k
 * connections: runs of 1, 2, 3, ... ("nofn"). With the module parameter
 * seed=1 the runs are 2, 3, 4, ..., the exact sequence of the notebook's
 * original patch to ip_vs_rr.c ("nofn-seed" in the sched crate).
 *
 * Unlike that patch, whose counters were globals shared by every service,
 * each service keeps its own cursor and counters, and the counters
 * saturate instead of overflowing. A removed destination moves the cursor
 * to its predecessor, as ip_vs_rr.c does, so the next pick continues with
 * its successor.
 */

#define KMSG_COMPONENT "IPVS"
#define pr_fmt(fmt) KMSG_COMPONENT ": " fmt

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/limits.h>

#include <net/ip_vs.h>

static bool seed;
module_param(seed, bool, 0444);
MODULE_PARM_DESC(seed,
		 "start the counters one off, as the notebook's patch did: runs of 2, 3, 4, ... (default: 1, 2, 3, ...)");

/* Per-service state (svc->sched_data). */
struct ip_vs_nofn_data {
	/* &svc->destinations (the head) or the n_list of the last pick */
	struct list_head *cursor;
	/* picks made in the current run, and the run's length */
	u64 i;
	u64 n;
};

static int ip_vs_nofn_init_svc(struct ip_vs_service *svc)
{
	struct ip_vs_nofn_data *d;

	d = kzalloc(sizeof(*d), GFP_KERNEL);
	if (!d)
		return -ENOMEM;
	d->cursor = &svc->destinations;
	d->i = seed ? 1 : 0;
	d->n = d->i;
	svc->sched_data = d;
	return 0;
}

static void ip_vs_nofn_done_svc(struct ip_vs_service *svc)
{
	kfree(svc->sched_data);
	svc->sched_data = NULL;
}

static int ip_vs_nofn_del_dest(struct ip_vs_service *svc,
			       struct ip_vs_dest *dest)
{
	struct ip_vs_nofn_data *d = svc->sched_data;

	spin_lock_bh(&svc->sched_lock);
	/* The entry is unlinked already: its prev is stale, but its next is
	 * still in the list and leads back to the predecessor.
	 */
	if (d->cursor == &dest->n_list)
		d->cursor = d->cursor->next->prev;
	spin_unlock_bh(&svc->sched_lock);
	return 0;
}

static bool ip_vs_nofn_usable(const struct ip_vs_dest *dest)
{
	return !(dest->flags & IP_VS_DEST_F_OVERLOAD) &&
	       atomic_read(&dest->weight) > 0;
}

static struct ip_vs_dest *
ip_vs_nofn_schedule(struct ip_vs_service *svc, const struct sk_buff *skb,
		    struct ip_vs_iphdr *iph)
{
	struct ip_vs_nofn_data *d = svc->sched_data;
	struct list_head *head = &svc->destinations;
	struct list_head *start, *q;
	struct ip_vs_dest *dest, *hit = NULL;
	bool next_run;

	spin_lock_bh(&svc->sched_lock);
	next_run = d->i == d->n;
	start = d->cursor;
	/* A run that is over moves on to the next destination; one that is
	 * not stays on its destination while that one is usable.
	 */
	if (next_run)
		start = rcu_dereference(list_next_rcu(start));
	q = start;
	do {
		if (q != head) {
			dest = list_entry(q, struct ip_vs_dest, n_list);
			if (ip_vs_nofn_usable(dest)) {
				hit = dest;
				break;
			}
		}
		q = rcu_dereference(list_next_rcu(q));
	} while (q != start);

	if (!hit) {
		spin_unlock_bh(&svc->sched_lock);
		ip_vs_scheduler_err(svc, "no destination available");
		return NULL;
	}
	d->cursor = &hit->n_list;
	if (next_run) {
		if (d->n != U64_MAX)
			d->n++;
		d->i = 0;
	}
	d->i++;
	spin_unlock_bh(&svc->sched_lock);

	IP_VS_DBG_BUF(6, "NOFN: server %s:%u activeconns %d refcnt %d weight %d\n",
		      IP_VS_DBG_ADDR(hit->af, &hit->addr), ntohs(hit->port),
		      atomic_read(&hit->activeconns),
		      refcount_read(&hit->refcnt), atomic_read(&hit->weight));
	return hit;
}

static struct ip_vs_scheduler ip_vs_nofn_scheduler = {
	.name =			"nofn",
	.refcnt =		ATOMIC_INIT(0),
	.module =		THIS_MODULE,
	.n_list =		LIST_HEAD_INIT(ip_vs_nofn_scheduler.n_list),
	.init_service =		ip_vs_nofn_init_svc,
	.done_service =		ip_vs_nofn_done_svc,
	.del_dest =		ip_vs_nofn_del_dest,
	.schedule =		ip_vs_nofn_schedule,
};

static int __init ip_vs_nofn_init(void)
{
	return register_ip_vs_scheduler(&ip_vs_nofn_scheduler);
}

static void __exit ip_vs_nofn_cleanup(void)
{
	unregister_ip_vs_scheduler(&ip_vs_nofn_scheduler);
	synchronize_rcu();
}

module_init(ip_vs_nofn_init);
module_exit(ip_vs_nofn_cleanup);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ipvs N-of-N round robin scheduler (per-service counters)");
