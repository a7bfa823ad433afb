#!/usr/bin/env python3
"""A FUSE filesystem with one file per BASE image, `disk0`, `disk1`, ...: every write the kernel
sends to one of them is appended to LOG before it reaches its BASE, so any prefix of LOG replayed
over the starting images is a state the disks could have been in at a crash. A loop device over
a `diskN` writes through the FUSE file without a writeback cache, so each write reaches this
single-threaded daemon, and is logged, before the block layer sees it complete: a prefix holds
every completed write up to a moment and none after it (a crash with write-through disk caches).

usage: logfs.py LOG MOUNTPOINT BASE...
LOG records: <QQII offset, length, kind, device> then `length` bytes for kind 0 (a write to
device `device`, the index of its BASE); kind 1 is a flush (fsync of the file), with no payload.
"""
import errno, os, stat, struct, sys, time

# pip install mfusepy (ctypes bindings for libfuse 3)
import mfusepy as fuse

HDR = struct.Struct("<QQII")

class LogFS(fuse.Operations):
    def __init__(self, log, bases):
        self.fds = [os.open(b, os.O_RDWR) for b in bases]
        self.sizes = [os.fstat(fd).st_size for fd in self.fds]
        self.log = open(log, "ab", buffering=1 << 20)
        self.now = time.time()

    def dev(self, path):
        name = path.lstrip("/")
        if name.startswith("disk") and name[4:].isdigit() and int(name[4:]) < len(self.fds):
            return int(name[4:])
        raise fuse.FuseOSError(errno.ENOENT)

    def getattr(self, path, fh=None):
        times = dict(st_ctime=self.now, st_mtime=self.now, st_atime=self.now)
        if path == "/":
            return dict(st_mode=stat.S_IFDIR | 0o755, st_nlink=2, st_size=0, **times)
        return dict(st_mode=stat.S_IFREG | 0o644, st_nlink=1, st_size=self.sizes[self.dev(path)], **times)

    def readdir(self, path, fh):
        return [".", ".."] + [f"disk{i}" for i in range(len(self.fds))]

    def open(self, path, flags):
        self.dev(path)
        return 0

    def read(self, path, size, offset, fh):
        return os.pread(self.fds[self.dev(path)], size, offset)

    def write(self, path, data, offset, fh):
        d = self.dev(path)
        if offset + len(data) > self.sizes[d]:
            raise fuse.FuseOSError(errno.ENOSPC)
        self.log.write(HDR.pack(offset, len(data), 0, d))
        self.log.write(data)
        os.pwrite(self.fds[d], data, offset)
        return len(data)

    def truncate(self, path, length, fh=None):
        if length != self.sizes[self.dev(path)]:
            raise fuse.FuseOSError(errno.EPERM)

    def fsync(self, path, datasync, fh):
        self.log.write(HDR.pack(0, 0, 1, self.dev(path)))
        return 0

    def flush(self, path, fh):
        return 0

    def release(self, path, fh):
        return 0

    def destroy(self, path):
        self.log.flush()

if __name__ == "__main__":
    log, mnt, bases = sys.argv[1], sys.argv[2], sys.argv[3:]
    fuse.FUSE(LogFS(log, bases), mnt, foreground=True, nothreads=True, allow_other=True)
