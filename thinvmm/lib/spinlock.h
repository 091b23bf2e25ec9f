/* SPDX-License-Identifier: MIT */
/* The VMM's one lock: a ticket lock, fair so no CPU starves on the log. */
#ifndef TVMM_SPINLOCK_H
#define TVMM_SPINLOCK_H

#include <stdint.h>

struct spinlock {
	volatile uint32_t next, owner;
};

static inline void spin_lock(struct spinlock *l)
{
	uint32_t me = __atomic_fetch_add(&l->next, 1, __ATOMIC_ACQUIRE);
	while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != me)
		__builtin_ia32_pause();
}

static inline void spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->owner, l->owner + 1, __ATOMIC_RELEASE);
}

#endif
