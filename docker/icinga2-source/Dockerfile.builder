# The compiler for Icinga 2 from source on one Debian suite: Debian's own build dependencies of
# the icinga2 package (without the database modules) and ccache. It compiles nothing itself:
# `hunt images build --icinga <version> --source DIR` runs hh-compile in a container of it, with
# the source copied in and a ccache volume mounted, so that the next version reuses objects.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      g++ make cmake bison flex ccache pkgconf \
      libboost-dev libboost-context-dev libboost-coroutine-dev libboost-date-time-dev \
      libboost-filesystem-dev libboost-iostreams-dev libboost-program-options-dev \
      libboost-regex-dev libboost-system-dev libboost-thread-dev \
      libssl-dev libsystemd-dev libedit-dev \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/*
COPY icinga2-source/hh-compile /usr/local/bin/hh-compile
