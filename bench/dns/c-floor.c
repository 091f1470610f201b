/*
 * The kernel's floor for a single-threaded UDP responder, for reference in bench/dns/run.sh:
 * recvmmsg/sendmmsg in batches of 64 (the batch size of warpc's native layer), blocking
 * receive (MSG_WAITFORONE), and per datagram only the QR bit set before it goes back.
 * No parsing, no cache, no event loop: what is left is the system calls and the kernel's
 * UDP path, which every server in the benchmark pays too.
 *
 * Usage: c-floor ADDRESS PORT   (IPv4; runs until killed)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define SLOT 4096

static unsigned char bufs[BATCH][SLOT];

int main(int argc, char **argv) {
  const char *address = argc > 1 ? argv[1] : "127.0.3.6";
  int port = argc > 2 ? atoi(argv[2]) : 53;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    perror("socket");
    return 1;
  }
  int size = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((unsigned short)port);
  if (inet_pton(AF_INET, address, &sa.sin_addr) != 1 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    perror("bind");
    return 1;
  }
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_in from[BATCH];
  for (;;) {
    for (int i = 0; i < BATCH; i++) {
      iov[i].iov_base = bufs[i];
      iov[i].iov_len = SLOT;
      memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof from[i];
    }
    int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("recvmmsg");
      return 1;
    }
    for (int i = 0; i < n; i++) {
      if (msgs[i].msg_len > 2) bufs[i][2] |= 0x80;
      iov[i].iov_len = msgs[i].msg_len;
    }
    for (int done = 0; done < n;) {
      int r = sendmmsg(fd, msgs + done, (unsigned)(n - done), 0);
      if (r < 0 && errno == EINTR) continue;
      done += r > 0 ? r : 1; /* best effort, like any UDP responder */
    }
  }
}
