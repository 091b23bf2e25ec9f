// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * thinvmm loader for a running Linux: gives the VMM memory of its own,
 * hands it the platform description, and puts every online CPU under it.
 * CPU hotplug: a CPU going offline is handed back first; one coming online
 * is virtualized by the same callback before ordinary tasks run on it.
 * Once a policy is locked the module pins itself and refuses CPU offline:
 * the VMM would refuse the hand-back anyway.
 */
#define pr_fmt(fmt) "thinvmm: " fmt

#include <linux/acpi.h>
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/fs.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <asm/pgtable.h>
#include <asm/processor.h>
#include <asm/tlbflush.h>

#include <thinvmm/abi.h>
#include <thinvmm/handoff.h>
#include <thinvmm/hypercall.h>

#include "uapi/thinvmm_ioctl.h"

extern const u8 tvmm_image[], tvmm_image_end[];
long tvmm_launch_cpu(void *entry, unsigned long cpu);

static char *console = "com2";
module_param(console, charp, 0444);
MODULE_PARM_DESC(console,
		 "VMM log port: com1..com4, debugcon (0xe9), debugcon:PORT, uart:PORT, none");
static unsigned int mem_mb = 4;
module_param(mem_mb, uint, 0444);
MODULE_PARM_DESC(mem_mb, "MiB of memory given to the VMM (even, 2..64)");

static int test_fail_cpu = -1;
module_param(test_fail_cpu, int, 0444);
MODULE_PARM_DESC(test_fail_cpu,
		 "testing only: refuse to launch this CPU, to exercise the roll-back");

typedef long (*tvmm_entry_fn)(u64 cmd, u64 arg, u64 rsp, u64 rip);

static struct {
	struct page *chunk[TVMM_MAX_CHUNKS];
	unsigned int nchunks;
	void *region;
	tvmm_entry_fn entry;
	struct tvmm_handoff ho;
	int hp_state;
	bool locked;
	bool inited;  /* INIT was called: RELEASE before the memory goes */
	bool channel; /* the VMM already ran: this module is only /dev/thinvmm */
	void *dmar;   /* a copy of the ACPI DMAR table for INIT */
} L;

static DEFINE_MUTEX(lock_mutex);

static DEFINE_PER_CPU(bool, tvmm_on);

static bool signature_present(void)
{
	unsigned int a, b, c, d;
	cpuid(TVMM_CPUID_LEAF, &a, &b, &c, &d);
	return b == TVMM_SIG_EBX && c == TVMM_SIG_ECX && d == TVMM_SIG_EDX;
}

static int cpu_online_cb(unsigned int cpu)
{
	unsigned long flags;
	long rc;

	if ((int)cpu == test_fail_cpu) {
		pr_err("cpu %u: not virtualized: test_fail_cpu=%d asked for a failure\n", cpu,
		       test_fail_cpu);
		return -EIO;
	}
	L.ho.error[0] = 0;
	local_irq_save(flags);
	rc = tvmm_launch_cpu(L.entry, cpu);
	if (!rc && !signature_present())
		rc = -1000; /* cannot happen unless the VMM is broken */
	if (!rc)
		this_cpu_write(tvmm_on, true);
	local_irq_restore(flags);
	if (rc) {
		pr_err("cpu %u: not virtualized: %s (code %ld)\n", cpu,
		       L.ho.error[0] ? L.ho.error : "see the VMM log", rc);
		return -EIO;
	}
	pr_info("cpu %u: now runs under thinvmm\n", cpu);
	return 0;
}

static int cpu_offline_cb(unsigned int cpu)
{
	unsigned long flags;
	long rc;

	if (READ_ONCE(L.locked)) {
		pr_warn("cpu %u: stays online: the policy is locked\n", cpu);
		return -EBUSY;
	}
	local_irq_save(flags);
	rc = tvmm_hypercall(TVMM_HC_DEVIRT, 0, 0, 0, NULL);
	if (!rc)
		this_cpu_write(tvmm_on, false);
	local_irq_restore(flags);
	if (rc) {
		pr_err("cpu %u: the VMM refused to hand it back (code %ld)\n", cpu, rc);
		return -EBUSY;
	}
	pr_info("cpu %u: handed back\n", cpu);
	return 0;
}

static int parse_console(void)
{
	static const struct {
		const char *name;
		u32 kind, port;
	} named[] = {
	    {"com1", TVMM_CONSOLE_UART, 0x3f8},	       {"com2", TVMM_CONSOLE_UART, 0x2f8},
	    {"com3", TVMM_CONSOLE_UART, 0x3e8},	       {"com4", TVMM_CONSOLE_UART, 0x2e8},
	    {"debugcon", TVMM_CONSOLE_DEBUGCON, 0xe9}, {"none", TVMM_CONSOLE_NONE, 0},
	};
	unsigned int i, port;

	for (i = 0; i < ARRAY_SIZE(named); i++) {
		if (!strcmp(console, named[i].name)) {
			L.ho.console_kind = named[i].kind;
			L.ho.console_port = named[i].port;
			return 0;
		}
	}
	if (sscanf(console, "debugcon:%i", &port) == 1 && port && port < 0x10000) {
		L.ho.console_kind = TVMM_CONSOLE_DEBUGCON;
		L.ho.console_port = port;
		return 0;
	}
	if (sscanf(console, "uart:%i", &port) == 1 && port && port < 0xfff8) {
		L.ho.console_kind = TVMM_CONSOLE_UART;
		L.ho.console_port = port;
		return 0;
	}
	pr_err("console=%s: expected com1..com4, debugcon[:PORT], uart:PORT or none\n", console);
	return -EINVAL;
}

static int add_ram(struct resource *r, void *arg)
{
	struct tvmm_handoff *h = arg;
	u64 base = r->start, size = resource_size(r);

	if (h->nmem && h->mem[h->nmem - 1].base + h->mem[h->nmem - 1].size == base) {
		h->mem[h->nmem - 1].size += size;
		return 0;
	}
	if (h->nmem == TVMM_MAX_MEMRANGES)
		return -E2BIG;
	h->mem[h->nmem].base = base;
	h->mem[h->nmem].size = size;
	h->mem[h->nmem].type = TVMM_MEM_RAM;
	h->nmem++;
	return 0;
}

static void free_region(void)
{
	unsigned int i;
	long rc;

	if (L.inited) {
		/* The IOMMU walks tables in this memory until the VMM turns it off. */
		rc = L.entry(TVMM_CMD_RELEASE, 0, 0, 0);
		if (rc) {
			pr_err("the VMM could not release the IOMMU (code %ld): its %u MiB are "
			       "kept, never freed\n",
			       rc, L.nchunks * 2);
			L.region = NULL;
			L.nchunks = 0;
			return;
		}
		L.inited = false;
	}
	if (L.region)
		vunmap(L.region);
	L.region = NULL;
	for (i = 0; i < L.nchunks; i++) {
		/* Nothing of the VMM's (log, tables) outlives it in free memory. */
		memset(page_address(L.chunk[i]), 0, 1ul << TVMM_CHUNK_SHIFT);
		__free_pages(L.chunk[i], TVMM_CHUNK_SHIFT - PAGE_SHIFT);
	}
	L.nchunks = 0;
}

/*
 * vmap() forces NX and set_memory_x() is not exported, so clear NX in the
 * PTEs ourselves. Other CPUs that might hold the old NX entry take a
 * spurious fault, which Linux resolves by design for permission upgrades.
 * Once a CPU is virtualized, nested paging hides these pages from it anyway.
 */
static int make_executable(void *va, size_t size)
{
	size_t off;
	unsigned int level;

	for (off = 0; off < size; off += PAGE_SIZE) {
		pte_t *pte = lookup_address((unsigned long)va + off, &level);
		if (!pte || level != PG_LEVEL_4K) {
			pr_err("unexpected mapping of the VMM region\n");
			return -EFAULT;
		}
		set_pte(pte, pte_mkexec(*pte));
	}
	__flush_tlb_all();
	return 0;
}

static int alloc_region(void)
{
	unsigned int per = 1u << (TVMM_CHUNK_SHIFT - PAGE_SHIFT), i, j;
	struct page **pages;

	L.nchunks = 0;
	for (i = 0; i < mem_mb / 2; i++) {
		L.chunk[i] = alloc_pages(GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN,
					 TVMM_CHUNK_SHIFT - PAGE_SHIFT);
		if (!L.chunk[i])
			goto nomem;
		L.nchunks++;
	}
	pages = kvmalloc_array(L.nchunks * per, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		goto nomem;
	for (i = 0; i < L.nchunks; i++)
		for (j = 0; j < per; j++)
			pages[i * per + j] = L.chunk[i] + j;
	/* The VMM runs here during INIT and LAUNCH, and at this address in its own tables. */
	L.region = vmap(pages, L.nchunks * per, VM_MAP, PAGE_KERNEL);
	kvfree(pages);
	if (!L.region)
		goto nomem;
	if (make_executable(L.region, (size_t)L.nchunks << TVMM_CHUNK_SHIFT)) {
		free_region();
		return -EFAULT;
	}
	return 0;
nomem:
	pr_err("cannot allocate %u MiB in 2 MiB blocks for the VMM\n", mem_mb);
	free_region();
	return -ENOMEM;
}

/*
 * The VMM finds the IOMMU in the ACPI DMAR table; it reads a copy in memory
 * of ours (kmalloc: physically contiguous) during INIT. No table: no IOMMU.
 */
static void copy_dmar(void)
{
	struct acpi_table_header *t;
	u32 len;

	if (acpi_disabled || ACPI_FAILURE(acpi_get_table(ACPI_SIG_DMAR, 0, &t)))
		return;
	len = t->length;
	if (len >= sizeof(*t) && len <= 64 * 1024)
		L.dmar = kmemdup(t, len, GFP_KERNEL);
	acpi_put_table(t);
	if (!L.dmar)
		return;
	L.ho.dmar_pa = virt_to_phys(L.dmar);
	L.ho.dmar_len = len;
}

static void drop_dmar(void)
{
	kfree(L.dmar);
	L.dmar = NULL;
	L.ho.dmar_pa = 0;
	L.ho.dmar_len = 0;
}

static int load_image(void)
{
	const struct tvmm_image_header *h = (const void *)tvmm_image;
	size_t fsize = tvmm_image_end - tvmm_image;
	unsigned int i;

	if (fsize < sizeof(*h) || memcmp(h->magic, TVMM_IMAGE_MAGIC, 8) ||
	    h->version != TVMM_HANDOFF_VERSION || h->file_size != fsize || h->mem_size < fsize ||
	    h->entry >= fsize) {
		pr_err("embedded VMM image is malformed\n");
		return -EINVAL;
	}
	if (h->mem_size > ((u64)L.nchunks << TVMM_CHUNK_SHIFT) / 2) {
		pr_err("mem_mb=%u is too small for a %llu KiB image\n", mem_mb, h->mem_size >> 10);
		return -EINVAL;
	}
	memcpy(L.region, tvmm_image, fsize);
	L.entry = (tvmm_entry_fn)(L.region + h->entry);
	L.ho.version = TVMM_HANDOFF_VERSION;
	L.ho.size = sizeof(L.ho);
	L.ho.image_va = (u64)L.region;
	L.ho.nchunks = L.nchunks;
	for (i = 0; i < L.nchunks; i++)
		L.ho.chunk_pa[i] = page_to_phys(L.chunk[i]);
	L.ho.max_cpus = nr_cpu_ids;
	copy_dmar();
	return walk_iomem_res_desc(IORES_DESC_NONE, IORESOURCE_SYSTEM_RAM | IORESOURCE_BUSY, 0, -1,
				   &L.ho, add_ram) < 0
		   ? -E2BIG
		   : 0;
}

/*
 * One kernel-virtual range to guest-physical ranges (merged where
 * contiguous), appended to out[] from *n on. Only kernel addresses with a
 * present mapping are accepted.
 */
static int va_to_ranges(const struct tvmm_pol_rule *r, struct tvmm_pol_rule *out, u32 *n, u32 *src,
			u32 idx)
{
	unsigned long va = r->a & PAGE_MASK, end;
	if (r->a + r->b < r->a || r->a < PAGE_OFFSET)
		return -EINVAL;
	end = PAGE_ALIGN(r->a + r->b);
	for (; va < end; va += PAGE_SIZE) {
		unsigned int level;
		phys_addr_t pa;
		if (!lookup_address(va, &level))
			return -EFAULT;
		pa = slow_virt_to_phys((void *)va);
		if (*n && out[*n - 1].a + out[*n - 1].b == pa && src[*n - 1] == idx) {
			out[*n - 1].b += PAGE_SIZE;
			continue;
		}
		if (*n >= TVMM_POL_MAX_RULES)
			return -E2BIG;
		out[*n] = *r;
		out[*n].kind = TVMM_RULE_MEM;
		out[*n].a = pa;
		out[*n].b = PAGE_SIZE;
		src[(*n)++] = idx;
	}
	return 0;
}

/*
 * Does this CPU run under the VMM? What this module launched it knows; as a
 * channel to a VMM it did not launch, the CPU's own CPUID tells.
 */
static bool under_vmm(int cpu)
{
	return L.channel ? signature_present() : per_cpu(tvmm_on, cpu);
}

static void signature_here(void *ok)
{
	if (!signature_present())
		WRITE_ONCE(*(bool *)ok, false);
}

/* Every online CPU runs under the VMM, so each takes the policy (and keeps it). */
static bool all_virtualized(void)
{
	bool ok = true;
	int cpu;
	if (L.channel) {
		on_each_cpu(signature_here, &ok, 1);
		return ok;
	}
	for_each_online_cpu(cpu) if (!per_cpu(tvmm_on, cpu)) return false;
	return true;
}

/* Any exit makes a CPU take the latest policy (see policy_sync in the VMM). */
static void sync_policy(void *unused)
{
	tvmm_hypercall(TVMM_HC_VERSION, 0, 0, 0, NULL);
}

/* The VMM's own word (a channel did not see the lock, or a forced unload lost it). */
static bool vmm_locked(void)
{
	struct tvmm_status *st = kzalloc(PAGE_SIZE * 2, GFP_KERNEL);
	u64 out[3];
	bool locked = false;

	if (!st)
		return false;
	if (under_vmm(get_cpu()) &&
	    !tvmm_hypercall(TVMM_HC_STATUS, virt_to_phys(st), PAGE_SIZE * 2, 0, out))
		locked = st->flags & TVMM_STATUS_LOCKED;
	put_cpu();
	kfree(st);
	return locked;
}

#define XLAT_RANGES 64 /* pairs TVMM_HC_LOCK_XLAT takes */

/*
 * Right after the lock, on the same CPU (its CR3 is the one walked): the
 * kernel-virtual ranges the memory rules came from, so that their
 * page-table entries are locked too (thinvmm/core/xlat.c). pairs has room
 * for XLAT_RANGES (va, size) pairs.
 */
static void lock_translations(const struct tvmm_pol_header *h, u64 *pairs)
{
	const struct tvmm_pol_rule *r = (const void *)(h + 1);
	u32 i, np = 0;
	u64 out[3];
	long rc;

	for (i = 0; i < h->nrules && np < XLAT_RANGES; i++)
		if (r[i].kind == TVMM_RULE_MEM_VA) {
			pairs[2 * np] = r[i].a;
			pairs[2 * np++ + 1] = r[i].b;
		}
	if (!np)
		return;
	rc = tvmm_hypercall(TVMM_HC_LOCK_XLAT, virt_to_phys(pairs), np * 16, 0, out);
	if (rc)
		pr_warn(
		    "translations of the locked ranges NOT locked: VMM error %ld at range %llu\n",
		    rc, out[0]);
	else
		pr_info("translations of %u locked range(s) locked\n", np);
}

static long lock_policy(struct tvmm_ioc_lock *l, const void *blob)
{
	const struct tvmm_pol_header *h = blob;
	const struct tvmm_pol_rule *in = (const void *)(h + 1);
	struct tvmm_pol_header *oh;
	struct tvmm_pol_rule *out;
	u32 n = 0, i, *src;
	long rc = 0;
	u64 out_regs[3];

	u32 tail; /* the compiled policy after it, for the VMM to check and measure */
	u64 *pairs = kcalloc(2 * XLAT_RANGES, sizeof(u64), GFP_KERNEL);

	if (l->len < sizeof(*h) || h->magic != TVMM_POL_MAGIC || h->size > l->len ||
	    h->nrules > TVMM_POL_MAX_RULES || h->size != sizeof(*h) + h->nrules * sizeof(*in))
		return -EINVAL;
	tail = l->len - h->size;
	/* kmalloc: the VMM reads it as one guest-physical range. */
	oh = kzalloc(sizeof(*oh) + TVMM_POL_MAX_RULES * sizeof(*out) + tail, GFP_KERNEL);
	src = kcalloc(TVMM_POL_MAX_RULES, sizeof(*src), GFP_KERNEL);
	if (!oh || !src || !pairs) {
		rc = -ENOMEM;
		goto out;
	}
	out = (struct tvmm_pol_rule *)(oh + 1);
	for (i = 0; i < h->nrules && !rc; i++) {
		if (in[i].kind == TVMM_RULE_MEM_VA) {
			rc = va_to_ranges(&in[i], out, &n, src, i);
		} else if (n >= TVMM_POL_MAX_RULES) {
			rc = -E2BIG;
		} else {
			src[n] = i;
			out[n++] = in[i];
		}
	}
	if (rc) {
		l->bad_rule = i - 1;
		goto out;
	}
	*oh = *h;
	oh->nrules = n;
	oh->size = sizeof(*oh) + n * sizeof(*out);
	memcpy((u8 *)oh + oh->size, (const u8 *)blob + h->size, tail);
	l->nranges = n;
	mutex_lock(&lock_mutex);
	cpus_read_lock();
	if (L.locked || (L.channel && vmm_locked())) {
		rc = -EALREADY;
	} else if (!all_virtualized()) {
		rc = -EAGAIN;
	} else {
		int cpu = get_cpu();
		(void)cpu;
		l->ret =
		    tvmm_hypercall(TVMM_HC_LOCK, virt_to_phys(oh), oh->size + tail, 0, out_regs);
		if (!l->ret)
			lock_translations(h, pairs);
		put_cpu();
		if (l->ret && out_regs[0] < n)
			l->bad_rule = src[out_regs[0]];
		if (!l->ret) {
			on_each_cpu(sync_policy, NULL, 1);
			WRITE_ONCE(L.locked, true);
			if (!L.channel) /* a channel holds nothing the VMM needs */
				__module_get(THIS_MODULE); /* only a forced unload can */
			pr_info("policy '%.*s' locked: %u rules, %u guest-physical ranges\n",
				(int)sizeof(h->name), h->name, h->nrules, n);
		}
	}
	cpus_read_unlock();
	mutex_unlock(&lock_mutex);
out:
	kfree(pairs);
	kfree(src);
	kfree(oh);
	return rc;
}

static long ctl_lock(unsigned long uarg)
{
	struct tvmm_ioc_lock l;
	void *blob;
	long rc;

	if (copy_from_user(&l, (void __user *)uarg, sizeof(l)))
		return -EFAULT;
	if (l.len > TVMM_IOC_MAX_LOCK || !l.len)
		return -E2BIG;
	blob = vmemdup_user((void __user *)l.buf, l.len);
	if (IS_ERR(blob))
		return PTR_ERR(blob);
	l.ret = 0;
	l.bad_rule = ~0ull;
	l.nranges = 0;
	rc = lock_policy(&l, blob);
	kvfree(blob);
	if (copy_to_user((void __user *)uarg, &l, sizeof(l)))
		rc = -EFAULT;
	return rc;
}

static long ctl_ioctl(struct file *f, unsigned int cmd, unsigned long uarg)
{
	struct tvmm_ioc_call c;
	void *kbuf = NULL;
	long rc = 0;
	int cpu;

	if (cmd == TVMM_IOC_LOCK)
		return ctl_lock(uarg);
	if (cmd != TVMM_IOC_CALL)
		return -ENOTTY;
	if (copy_from_user(&c, (void __user *)uarg, sizeof(c)))
		return -EFAULT;
	/* User space gets the read-only calls; DEVIRT and LOCK stay with this module. */
	if (c.nr != TVMM_HC_VERSION && c.nr != TVMM_HC_STATUS && c.nr != TVMM_HC_LOG &&
	    c.nr != TVMM_HC_EVENTS && c.nr != TVMM_HC_TPMLOG)
		return -EPERM;
	if (c.len > TVMM_IOC_MAX_BUF)
		return -E2BIG;
	if (c.len) {
		kbuf = kzalloc(c.len, GFP_KERNEL);
		if (!kbuf)
			return -ENOMEM;
	}
	cpus_read_lock();
	cpu = get_cpu();
	if (under_vmm(cpu))
		c.ret = tvmm_hypercall(c.nr, kbuf ? virt_to_phys(kbuf) : 0, c.len, c.arg, c.out);
	else
		rc = -EAGAIN;
	put_cpu();
	cpus_read_unlock();
	if (!rc && c.len && copy_to_user((void __user *)c.buf, kbuf, c.len))
		rc = -EFAULT;
	if (!rc && copy_to_user((void __user *)uarg, &c, sizeof(c)))
		rc = -EFAULT;
	kfree(kbuf);
	return rc;
}

static const struct file_operations ctl_fops = {
    .owner = THIS_MODULE,
    .unlocked_ioctl = ctl_ioctl,
};

static struct miscdevice ctl_dev = {
    .minor = MISC_DYNAMIC_MINOR,
    .name = "thinvmm",
    .fops = &ctl_fops,
    .mode = 0600,
};

static int __init thinvmm_init(void)
{
	long rc;

	if (signature_present()) {
		/* Launched before (at boot, or by a module unloaded by force): only the channel. */
		L.channel = true;
		rc = misc_register(&ctl_dev);
		if (rc)
			return rc;
		pr_info("thinvmm already runs underneath this OS: loaded as its channel "
			"(/dev/thinvmm) only; unloading it leaves the VMM running\n");
		return 0;
	}
	if (mem_mb < 2 || mem_mb > 2 * TVMM_MAX_CHUNKS || (mem_mb & 1)) {
		pr_err("mem_mb=%u: must be even, 2..%u\n", mem_mb, 2 * TVMM_MAX_CHUNKS);
		return -EINVAL;
	}
	if (nr_cpu_ids > TVMM_MAX_CPUS) {
		pr_err("not loading: %u possible CPUs, the VMM supports %u\n", nr_cpu_ids,
		       TVMM_MAX_CPUS);
		return -EINVAL;
	}
	memset(&L.ho, 0, sizeof(L.ho));
	rc = parse_console();
	if (rc)
		return rc;
	rc = alloc_region();
	if (rc)
		return rc;
	rc = load_image();
	if (rc)
		goto fail;
	rc = L.entry(TVMM_CMD_INIT, (u64)&L.ho, 0, 0);
	drop_dmar();
	L.inited = true; /* even a failed INIT may have left DMA translation on */
	if (rc) {
		pr_err("not loading: %s (code %ld)\n",
		       L.ho.error[0] ? L.ho.error : "VMM init failed", rc);
		rc = -ENODEV;
		goto fail;
	}
	rc =
	    cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "thinvmm:online", cpu_online_cb, cpu_offline_cb);
	if (rc < 0) {
		pr_err("not loading: a CPU could not be virtualized; all handed back\n");
		goto fail;
	}
	L.hp_state = rc;
	rc = misc_register(&ctl_dev);
	if (rc) {
		cpuhp_remove_state(L.hp_state);
		goto fail;
	}
	pr_info("running under every online CPU (%u MiB, log on %s)\n", mem_mb, console);
	return 0;
fail:
	drop_dmar();
	free_region();
	return rc;
}

/*
 * Runs on rmmod, and on rmmod -f after the lock, which the module's own
 * reference cannot stop. Locked, nothing may end: the CPUs stay under the
 * VMM (the hotplug state goes without its teardown calls, which would refuse
 * and BUG), and the VMM's memory stays allocated and mapped for good.
 */
static void __exit thinvmm_exit(void)
{
	misc_deregister(&ctl_dev);
	if (L.channel) {
		pr_info("channel unloaded: thinvmm keeps running underneath this OS\n");
		return;
	}
	if (READ_ONCE(L.locked)) {
		/* No callback refuses an offline any more: Linux itself must (see docs). */
		cpu_hotplug_disable();
		cpuhp_remove_state_nocalls(L.hp_state);
		pr_warn(
		    "forced unload after the lock: thinvmm keeps running and protecting; its %u "
		    "MiB stay reserved; /dev/thinvmm is gone (insmod thinvmm.ko again for a "
		    "channel); CPU hotplug is disabled for the rest of this boot\n",
		    L.nchunks * 2);
		return;
	}
	cpuhp_remove_state(L.hp_state);
	free_region();
	pr_info("unloaded: every CPU handed back\n");
}

module_init(thinvmm_init);
module_exit(thinvmm_exit);
MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("thinvmm: late launch of a thin hypervisor under the running Linux");
