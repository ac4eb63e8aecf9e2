"""EbsSpec: the EBS volumes of an instance group, and the limits that apply (guide tip T5).

T5: gp2 IOPS scale with the disk size (3 IOPS per GiB, at least 100), so a disk-heavy
application needs a generous disk. ``EbsSpec`` offers both ways: gp3 (the default) with
explicit IOPS and throughput, or gp2 sized from the IOPS wanted.

Pure Python (no cdktf): the validation and the sizing math are usable from tests, the
review tool and the ops side without loading the provider bindings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

GP3_IOPS = (3000, 16000)
GP3_THROUGHPUT = (125, 1000)
GP3_MAX_IOPS_PER_GIB = 500
GP3_MAX_THROUGHPUT_PER_IOPS = 0.25
GP3_DEFAULT_SIZE_GIB = 64
GP2_IOPS_PER_GIB = 3
GP2_MIN_IOPS = 100
GP2_MAX_IOPS = 16000
EBS_MAX_GIB = 16384
VOLUMES_PER_INSTANCE = (1, 25)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class EbsSpec:
    """EBS volumes attached to every instance of a group (guide tip T5).

    gp3 (default): ``size_gib`` (default 64), ``iops`` (default 3000) and ``throughput``
    MiB/s (default 125) are always written out. Limits: IOPS 3000-16000, throughput
    125-1000, at most 500 IOPS per GiB, at most 0.25 MiB/s per IOPS.

    gp2: IOPS come from the size (3 per GiB, at least 100). Give the IOPS you need as
    ``iops`` and the size becomes ``ceil(iops / 3)`` GiB (3000 IOPS -> 1000 GiB); give
    ``size_gib`` as well for a larger disk. At most 16000 IOPS and 16384 GiB.

    ``volumes_per_instance``: 1-25, default 1.
    """

    volume_type: str = "gp3"
    size_gib: int | None = None
    iops: int | None = None
    throughput: int | None = None
    volumes_per_instance: int = 1

    @classmethod
    def gp3(cls, size_gib: int, *, iops: int = 3000, throughput: int = 125, volumes_per_instance: int = 1) -> EbsSpec:
        return cls("gp3", size_gib, iops, throughput, volumes_per_instance)

    @classmethod
    def gp2_for_iops(cls, iops: int, *, min_size_gib: int | None = None, volumes_per_instance: int = 1) -> EbsSpec:
        return cls("gp2", min_size_gib, iops, None, volumes_per_instance)

    def problems(self, where: str) -> list[str]:
        """Every problem of this spec, each naming ``where.<setting>``, the value and the limit."""
        if self.volume_type not in ("gp3", "gp2"):
            return [
                f"{where}.volume_type = {self.volume_type!r}: allowed are 'gp3' (explicit IOPS and "
                "throughput) or 'gp2' (IOPS from size)"
            ]
        p = self._shape_problems(where)
        if p:
            return p
        return self._gp3_problems(where) if self.volume_type == "gp3" else self._gp2_problems(where)

    def _shape_problems(self, where: str) -> list[str]:
        p: list[str] = []
        low, high = VOLUMES_PER_INSTANCE
        if not isinstance(self.volumes_per_instance, int) or not low <= self.volumes_per_instance <= high:
            p.append(f"{where}.volumes_per_instance = {self.volumes_per_instance!r}: allowed {low}-{high}")
        for attr in ("size_gib", "iops", "throughput"):
            value = getattr(self, attr)
            if value is not None and (not _is_count(value) or value < 1):
                p.append(f"{where}.{attr} = {value!r}: must be a positive whole number")
        return p

    def _gp3_problems(self, where: str) -> list[str]:
        p: list[str] = []
        size, iops, tput = self.resolved_size(), self._gp3_iops(), self._gp3_throughput()
        if not GP3_IOPS[0] <= iops <= GP3_IOPS[1]:
            p.append(
                f"{where}.iops = {iops}: gp3 allows {GP3_IOPS[0]}-{GP3_IOPS[1]} IOPS; "
                "use io1/io2 outside EMR's instance groups or lower the figure"
            )
        if not GP3_THROUGHPUT[0] <= tput <= GP3_THROUGHPUT[1]:
            p.append(f"{where}.throughput = {tput}: gp3 allows {GP3_THROUGHPUT[0]}-{GP3_THROUGHPUT[1]} MiB/s")
        if not 1 <= size <= EBS_MAX_GIB:
            p.append(f"{where}.size_gib = {size}: allowed 1-{EBS_MAX_GIB} GiB")
        elif iops > GP3_MAX_IOPS_PER_GIB * size:
            p.append(
                f"{where}.iops = {iops} on {size} GiB: gp3 allows at most {GP3_MAX_IOPS_PER_GIB} IOPS "
                f"per GiB; use at least {math.ceil(iops / GP3_MAX_IOPS_PER_GIB)} GiB"
            )
        if tput > GP3_MAX_THROUGHPUT_PER_IOPS * iops:
            p.append(
                f"{where}.throughput = {tput} with {iops} IOPS: gp3 allows at most "
                f"{GP3_MAX_THROUGHPUT_PER_IOPS} MiB/s per IOPS; raise iops to at least "
                f"{math.ceil(tput / GP3_MAX_THROUGHPUT_PER_IOPS)}"
            )
        return p

    def _gp2_problems(self, where: str) -> list[str]:
        p: list[str] = []
        if self.throughput is not None:
            p.append(
                f"{where}.throughput = {self.throughput!r}: gp2 has no throughput setting; "
                "use volume_type='gp3' to choose it"
            )
        if self.iops is None and self.size_gib is None:
            p.append(f"{where}: gp2 needs the IOPS wanted (iops=...) or a size (size_gib=...)")
        elif self.iops is not None and self.iops > GP2_MAX_IOPS:
            p.append(f"{where}.iops = {self.iops}: gp2 tops out at {GP2_MAX_IOPS} IOPS; use gp3")
        else:
            size = self.resolved_size()
            if size > EBS_MAX_GIB:
                p.append(
                    f"{where}: gp2 size {size} GiB is over the {EBS_MAX_GIB} GiB limit; "
                    "lower size_gib or iops, or add volumes_per_instance"
                )
        return p

    def resolved_size(self) -> int:
        """GiB per volume: gp2 from the IOPS wanted (or ``size_gib`` if larger); gp3 as given."""
        if self.volume_type == "gp2":
            from_iops = math.ceil(self.iops / GP2_IOPS_PER_GIB) if self.iops else 0
            return max(from_iops, self.size_gib or 0)
        return self.size_gib if self.size_gib is not None else GP3_DEFAULT_SIZE_GIB

    def _gp3_iops(self) -> int:
        return self.iops if self.iops is not None else GP3_IOPS[0]

    def _gp3_throughput(self) -> int:
        return self.throughput if self.throughput is not None else GP3_THROUGHPUT[0]

    def resolved_iops(self) -> int | None:
        """IOPS written to Terraform: gp3 only (gp2 IOPS follow from the size)."""
        return None if self.volume_type == "gp2" else self._gp3_iops()

    def resolved_throughput(self) -> int | None:
        """Throughput (MiB/s) written to Terraform: gp3 only."""
        return None if self.volume_type == "gp2" else self._gp3_throughput()

    def baseline_iops(self) -> int:
        """IOPS each volume delivers."""
        if self.volume_type == "gp2":
            return max(GP2_MIN_IOPS, min(GP2_MAX_IOPS, GP2_IOPS_PER_GIB * self.resolved_size()))
        return self._gp3_iops()

    def terraform(self) -> dict:
        """The ``ebs_config`` block as the provider takes it."""
        out: dict = {
            "size": self.resolved_size(),
            "type": self.volume_type,
            "volumes_per_instance": self.volumes_per_instance,
        }
        if self.volume_type == "gp3":
            out["iops"] = self._gp3_iops()
            out["throughput"] = self._gp3_throughput()
        return out


def fixed_throughput_problem(ebs: EbsSpec, where: str, block: str) -> str | None:
    """gp3 throughput on a block that cannot carry it (``aws_emr_instance_group``'s and
    the instance fleets' ``ebs_config`` have no throughput argument): EMR gives such
    volumes 125 MiB/s, so any other figure would be silently dropped."""
    if ebs.volume_type == "gp3" and ebs.resolved_throughput() != GP3_THROUGHPUT[0]:
        return (
            f"{where}.throughput = {ebs.throughput}: {block} has no throughput argument, so its gp3 volumes "
            f"get EMR's {GP3_THROUGHPUT[0]} MiB/s; remove throughput or use gp2"
        )
    return None


def no_throughput_block_problems(ebs: object, where: str, block: str) -> list[str]:
    """Every problem of the ``EbsSpec`` of a block without a throughput argument (task
    groups, instance fleets): its own, and a gp3 throughput other than EMR's."""
    if not isinstance(ebs, EbsSpec):
        return [f"{where} = {ebs!r}: expected an EbsSpec"]
    p = ebs.problems(where)
    if (tp := fixed_throughput_problem(ebs, where, block)) is not None:
        p.append(tp)
    return p
