/* SPDX-License-Identifier: MIT */
/* Offsets into struct vcpu for the entry code; vmm.h checks them. */
#ifndef TVMM_VCPU_OFFSETS_H
#define TVMM_VCPU_OFFSETS_H

#define VCPU_HOST_RSP	 128
#define VCPU_HOST_CR3	 136
#define VCPU_HOST_GDTR	 150
#define VCPU_HOST_IDTR	 166
#define VCPU_ARCH_PA	 184
#define VCPU_HB		 192
#define HB_EFER		 0
#define HB_CR3		 8
#define HB_RIP		 16
#define HB_RSP		 24
#define HB_RFLAGS	 32
#define HB_CS		 40
#define HB_SS		 42
#define HB_DS		 44
#define HB_ES		 46
#define HB_GDTR		 54
#define HB_IDTR		 70
#define VCPU_LAUNCHED	 272
#define VCPU_NMI_PENDING 273

#endif
