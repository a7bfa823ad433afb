#!/usr/bin/env python3
"""A FUSE filesystem with one file, `disk`, backed by BASE: every write the kernel sends is
appended to LOG before it reaches BASE, so any prefix of LOG replayed over the starting image is
a state the disk could have been in at a crash. A loop device over `disk` writes through the
FUSE file without a writeback cache, so each write reaches this single-threaded daemon, and is
logged, before the block layer sees it complete: a prefix holds every completed write up to a
moment and none after it (a crash with a write-through disk cache).

usage: logfs.py BASE LOG MOUNTPOINT
LOG records: <QQII offset, length, kind, 0> then `length` bytes for kind 0 (write);
kind 1 is a flush (fsync of the file), with no payload.
"""
import errno, os, stat, struct, sys, time

# pip install mfusepy (ctypes bindings for libfuse 3)
import mfusepy as fuse

HDR = struct.Struct("<QQII")

class LogFS(fuse.Operations):
    def __init__(self, base, log):
        self.fd = os.open(base, os.O_RDWR)
        self.size = os.fstat(self.fd).st_size
        self.log = open(log, "ab", buffering=1 << 20)
        self.now = time.time()

    def getattr(self, path, fh=None):
        if path == "/":
            return dict(st_mode=stat.S_IFDIR | 0o755, st_nlink=2, st_size=0,
                        st_ctime=self.now, st_mtime=self.now, st_atime=self.now)
        if path == "/disk":
            return dict(st_mode=stat.S_IFREG | 0o644, st_nlink=1, st_size=self.size,
                        st_ctime=self.now, st_mtime=self.now, st_atime=self.now)
        raise fuse.FuseOSError(errno.ENOENT)

    def readdir(self, path, fh):
        return [".", "..", "disk"]

    def open(self, path, flags):
        if path != "/disk":
            raise fuse.FuseOSError(errno.ENOENT)
        return 0

    def read(self, path, size, offset, fh):
        return os.pread(self.fd, size, offset)

    def write(self, path, data, offset, fh):
        if offset + len(data) > self.size:
            raise fuse.FuseOSError(errno.ENOSPC)
        self.log.write(HDR.pack(offset, len(data), 0, 0))
        self.log.write(data)
        os.pwrite(self.fd, data, offset)
        return len(data)

    def truncate(self, path, length, fh=None):
        if length != self.size:
            raise fuse.FuseOSError(errno.EPERM)

    def fsync(self, path, datasync, fh):
        self.log.write(HDR.pack(0, 0, 1, 0))
        return 0

    def flush(self, path, fh):
        return 0

    def release(self, path, fh):
        return 0

    def destroy(self, path):
        self.log.flush()

if __name__ == "__main__":
    base, log, mnt = sys.argv[1:4]
    fuse.FUSE(LogFS(base, log), mnt, foreground=True, nothreads=True, allow_other=True)
