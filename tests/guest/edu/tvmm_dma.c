// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * A DMA attack tool for the e2e tests, on QEMU's "edu" PCI device (vendor 0x1234, device
 * 0x11e8; QEMU docs/specs/edu.txt). The guest does not use the IOMMU here, so a DMA address
 * is a physical address: whatever the device reaches, the VMM's tables (or nothing) decided.
 *
 * One control file, /sys/kernel/debug/tvmm_dma: write a command, read its answer (one line,
 * "ok ..." or "error ..."). Commands:
 *   info               edu's PCI address and source id, the bounce page's bus address
 *   read PA LEN        the device reads LEN (1..4095) bytes of RAM at PA into its buffer
 *                      (filled with 0xa5 first), then writes its buffer to a bounce page:
 *                      "ok HEX" (what came back)
 *   write PA HEX       the bytes HEX (at most 4095) go bounce page -> device buffer -> RAM at PA:
 * "ok N" peek PA LEN        the CPU reads LEN (1..4096) bytes at PA through the kernel's direct map
 *   v2p VA             slow_virt_to_phys(VA)
 *   mmio-write PA VAL W  ioremap PA's page, write VAL with a W-bit (32 or 64) store
 *   vmm                the VMM's status by hypercall (only if the ThinVMM signature is there):
 *                      "ok chunk0 PA hash H dma_state S faults F"
 * Every device wait is bounded (edu completes a DMA about 100 ms after it is started).
 */
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/io.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/processor.h>
#include <asm/set_memory.h>

#include <thinvmm/abi.h>
#include <thinvmm/hypercall.h>

#define EDU_VENDOR  0x1234
#define EDU_DEVICE  0x11e8
#define EDU_IDENT   0x00
#define EDU_DMA_SRC 0x80
#define EDU_DMA_DST 0x88
#define EDU_DMA_CNT 0x90
#define EDU_DMA_CMD 0x98
#define EDU_CMD_RUN 0x1
#define EDU_CMD_TO  0x2 /* device buffer -> RAM */
#define EDU_BUF	    0x40000
/* QEMU 7.2's edu refuses (hw_error: QEMU aborts) a DMA that ends at the buffer's very end. */
#define EDU_BUF_SIZE 4096
#define EDU_MAX	     (EDU_BUF_SIZE - 1)
#define FILL	     0xa5
#define OUT_SIZE     (2 * EDU_BUF_SIZE + 256)
#define STATUS_BUF   8192

static struct pci_dev *edu;
static void __iomem *bar;
static u8 *bounce;
static dma_addr_t bounce_bus;
static char *out;
static size_t out_len;
static DEFINE_MUTEX(lock);
static struct dentry *ctl;

static void answer(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	out_len = vscnprintf(out, OUT_SIZE - 1, fmt, ap);
	va_end(ap);
	out[out_len++] = '\n';
}

/* One DMA of cnt bytes; 0, or -ETIMEDOUT if the device stayed busy for 5 s. */
static int edu_dma(u64 src, u64 dst, u32 cnt, u32 dir)
{
	unsigned long until = jiffies + 5 * HZ;

	if (readl(bar + EDU_DMA_CMD) & EDU_CMD_RUN)
		return -EBUSY;
	writeq(src, bar + EDU_DMA_SRC);
	writeq(dst, bar + EDU_DMA_DST);
	writeq(cnt, bar + EDU_DMA_CNT);
	writeq(EDU_CMD_RUN | dir, bar + EDU_DMA_CMD);
	while (readl(bar + EDU_DMA_CMD) & EDU_CMD_RUN) {
		if (time_after(jiffies, until))
			return -ETIMEDOUT;
		msleep(10);
	}
	return 0;
}

static int to_device(u64 pa, u32 len)
{
	return edu_dma(pa, EDU_BUF, len, 0);
}

static int from_device(u64 pa, u32 len)
{
	return edu_dma(EDU_BUF, pa, len, EDU_CMD_TO);
}

static void put_hex(const u8 *p, u32 len)
{
	size_t n = scnprintf(out, OUT_SIZE, "ok ");
	u32 i;
	for (i = 0; i < len && n + 3 < OUT_SIZE; i++)
		n += scnprintf(out + n, OUT_SIZE - n, "%02x", p[i]);
	out[n++] = '\n';
	out_len = n;
}

static void cmd_read(u64 pa, u32 len)
{
	int rc;
	/* The device's buffer gets a known fill first: "nothing came" is then told apart. */
	memset(bounce, FILL, EDU_BUF_SIZE);
	rc = to_device(bounce_bus, EDU_MAX);
	if (!rc)
		rc = to_device(pa, len);
	memset(bounce, 0x5a, EDU_BUF_SIZE);
	if (!rc)
		rc = from_device(bounce_bus, len);
	if (rc)
		answer("error dma: %d", rc);
	else
		put_hex(bounce, len);
}

static void cmd_write(u64 pa, const char *hex)
{
	size_t n = strlen(hex);
	int rc;

	if (!n || n % 2 || n / 2 > EDU_MAX || hex2bin(bounce, hex, n / 2)) {
		answer("error bad hex");
		return;
	}
	rc = to_device(bounce_bus, n / 2);
	if (!rc)
		rc = from_device(pa, n / 2);
	if (rc)
		answer("error dma: %d", rc);
	else
		answer("ok %zu", n / 2);
}

static void cmd_peek(u64 pa, u32 len)
{
	u8 *buf = kmalloc(len, GFP_KERNEL);
	if (!buf) {
		answer("error no memory");
		return;
	}
	if (!pfn_valid(pa >> PAGE_SHIFT) || !pfn_valid((pa + len - 1) >> PAGE_SHIFT)) {
		answer("error %#llx is not RAM the kernel maps", pa);
	} else {
		memcpy(buf, phys_to_virt(pa), len);
		put_hex(buf, len);
	}
	kfree(buf);
}

static void cmd_mmio_write(u64 pa, u64 val, unsigned int width)
{
	void __iomem *p = ioremap(pa & PAGE_MASK, PAGE_SIZE);
	if (!p) {
		answer("error ioremap %#llx failed", pa);
		return;
	}
	if (width == 64)
		writeq(val, p + (pa & ~PAGE_MASK));
	else
		writel((u32)val, p + (pa & ~PAGE_MASK));
	iounmap(p);
	answer("ok wrote %#llx (%u bits) at %#llx", val, width, pa);
}

static bool vmm_present(void)
{
	unsigned int a, b, c, d;
	char sig[13];
	cpuid(0x40000000, &a, &b, &c, &d);
	memcpy(sig, &b, 4);
	memcpy(sig + 4, &c, 4);
	memcpy(sig + 8, &d, 4);
	sig[12] = 0;
	return !strcmp(sig, "ThinVMM");
}

static void cmd_vmm(void)
{
	struct tvmm_status *s;
	u64 o[3];
	long rc;

	if (!vmm_present()) {
		answer("error no ThinVMM signature");
		return;
	}
	s = kzalloc(STATUS_BUF, GFP_KERNEL);
	if (!s) {
		answer("error no memory");
		return;
	}
	rc = tvmm_hypercall(TVMM_HC_STATUS, virt_to_phys(s), STATUS_BUF, 0, o);
	if (rc || !s->nchunks)
		answer("error status hypercall: %ld", rc);
	else
		answer("ok chunk0 %#llx hash %#llx dma_state %u faults %llu", s->chunk_pa[0],
		       s->image_hash, s->dma_state, s->dma_faults);
	kfree(s);
}

static void run(char *cmd)
{
	char *argv[4] = {};
	int argc = 0;
	char *w;
	u64 a = 0, b = 0;
	u32 len = 0;

	while ((w = strsep(&cmd, " \t\n")) && argc < 4)
		if (*w)
			argv[argc++] = w;
	if (!argc) {
		answer("error empty command");
		return;
	}
	if (!strcmp(argv[0], "vmm")) {
		cmd_vmm();
		return;
	}
	if (argc >= 2 && kstrtou64(argv[1], 0, &a)) {
		answer("error bad number '%s'", argv[1]);
		return;
	}
	if (!strcmp(argv[0], "v2p") && argc == 2) {
		answer("ok %#llx", (u64)slow_virt_to_phys((void *)(unsigned long)a));
		return;
	}
	if (!strcmp(argv[0], "mmio-write") && argc == 4) {
		if (kstrtou64(argv[2], 0, &b) || kstrtou32(argv[3], 0, &len) ||
		    (len != 32 && len != 64))
			answer("error usage: mmio-write PA VAL 32|64");
		else
			cmd_mmio_write(a, b, len);
		return;
	}
	if ((!strcmp(argv[0], "read") || !strcmp(argv[0], "peek")) && argc == 3) {
		if (kstrtou32(argv[2], 0, &len) || !len || len > EDU_MAX) {
			answer("error LEN must be 1..%d", EDU_MAX);
			return;
		}
		if (argv[0][0] == 'p') {
			cmd_peek(a, len);
			return;
		}
	}
	if (!edu && strcmp(argv[0], "peek")) {
		answer("error no edu device");
		return;
	}
	if (!strcmp(argv[0], "info"))
		answer("ok edu %s sid %#x bounce %#llx ident %#x", pci_name(edu), pci_dev_id(edu),
		       (u64)bounce_bus, readl(bar + EDU_IDENT));
	else if (!strcmp(argv[0], "read") && argc == 3)
		cmd_read(a, len);
	else if (!strcmp(argv[0], "write") && argc == 3)
		cmd_write(a, argv[2]);
	else
		answer("error unknown command or arguments: %s", argv[0]);
}

static ssize_t ctl_write(struct file *f, const char __user *ubuf, size_t n, loff_t *pos)
{
	char *cmd;
	if (n > 2 * EDU_BUF_SIZE + 128)
		return -E2BIG;
	cmd = memdup_user_nul(ubuf, n);
	if (IS_ERR(cmd))
		return PTR_ERR(cmd);
	mutex_lock(&lock);
	run(cmd);
	mutex_unlock(&lock);
	kfree(cmd);
	return n;
}

static ssize_t ctl_read(struct file *f, char __user *ubuf, size_t n, loff_t *pos)
{
	ssize_t rc;
	mutex_lock(&lock);
	rc = simple_read_from_buffer(ubuf, n, pos, out, out_len);
	mutex_unlock(&lock);
	return rc;
}

static const struct file_operations ctl_fops = {
    .owner = THIS_MODULE,
    .write = ctl_write,
    .read = ctl_read,
    .llseek = default_llseek,
};

static int edu_setup(void)
{
	int rc;

	edu = pci_get_device(EDU_VENDOR, EDU_DEVICE, NULL);
	if (!edu)
		return 0; /* peek, v2p, mmio-write and vmm still work */
	rc = pci_enable_device(edu);
	if (rc)
		goto put;
	pci_set_master(edu);
	rc = dma_set_mask_and_coherent(&edu->dev, DMA_BIT_MASK(32));
	if (rc)
		goto disable;
	bar = pci_iomap(edu, 0, 0);
	if (!bar) {
		rc = -ENOMEM;
		goto disable;
	}
	bounce = dma_alloc_coherent(&edu->dev, EDU_BUF_SIZE, &bounce_bus, GFP_KERNEL);
	if (!bounce) {
		rc = -ENOMEM;
		goto unmap;
	}
	pr_info("tvmm_dma: edu at %s (source id %#x), bounce page at bus address %#llx\n",
		pci_name(edu), pci_dev_id(edu), (u64)bounce_bus);
	return 0;
unmap:
	pci_iounmap(edu, bar);
disable:
	pci_clear_master(edu);
	pci_disable_device(edu);
put:
	pci_dev_put(edu);
	edu = NULL;
	return rc;
}

static int __init tvmm_dma_init(void)
{
	int rc;

	out = kzalloc(OUT_SIZE, GFP_KERNEL);
	if (!out)
		return -ENOMEM;
	answer("error no command yet");
	rc = edu_setup();
	if (rc) {
		kfree(out);
		return rc;
	}
	ctl = debugfs_create_file("tvmm_dma", 0600, NULL, NULL, &ctl_fops);
	return 0;
}

static void __exit tvmm_dma_exit(void)
{
	debugfs_remove(ctl);
	if (edu) {
		dma_free_coherent(&edu->dev, EDU_BUF_SIZE, bounce, bounce_bus);
		pci_iounmap(edu, bar);
		pci_clear_master(edu);
		pci_disable_device(edu);
		pci_dev_put(edu);
	}
	kfree(out);
}

module_init(tvmm_dma_init);
module_exit(tvmm_dma_exit);
MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("thinvmm e2e DMA attack tool (QEMU edu device)");
