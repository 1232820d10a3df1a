# Build and install ferrollama's libllama like upstream's: `make install PREFIX=/opt/llama`.
# Installs lib/libllama.so.$(VERSION) (+ libllama.so.0, libllama.so links), include/*.h,
# lib/pkgconfig/llama.pc and lib/cmake/llama/llama-config{,-version}.cmake.
# DESTDIR is honoured for staged installs.

PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
VERSION    := 0.5.0
CARGO      ?= cargo
# the library to install (tests pass the one they built, with CARGO=true to skip the build)
LIB        ?= target/release/libllama.so

LIB_REL     = $(patsubst $(PREFIX)/%,%,$(LIBDIR))
INCLUDE_REL = $(patsubst $(PREFIX)/%,%,$(INCLUDEDIR))
# from $(LIBDIR)/cmake/llama back up to $(PREFIX)
CMAKE_TO_PREFIX = $(shell echo "$(LIB_REL)/cmake/llama" | sed -e 's|[^/][^/]*|..|g')

SUBST = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
            -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
            -e 's|@VERSION_MAJOR@|$(firstword $(subst ., ,$(VERSION)))|g' \
            -e 's|@LIB_REL@|$(LIB_REL)|g' -e 's|@INCLUDE_REL@|$(INCLUDE_REL)|g' \
            -e 's|@CMAKE_TO_PREFIX@|$(CMAKE_TO_PREFIX)|g'

.PHONY: all build install uninstall

all: build

build:
	$(CARGO) build --release --lib

install: build
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
	           $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(LIBDIR)/cmake/llama
	install -m 755 $(LIB) $(DESTDIR)$(LIBDIR)/libllama.so.$(VERSION)
	ln -sf libllama.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libllama.so.0
	ln -sf libllama.so.0 $(DESTDIR)$(LIBDIR)/libllama.so
	install -m 644 include/llama.h include/ggml.h include/ggml-cpu.h include/ggml-backend.h \
	               include/ggml-opt.h include/gguf.h $(DESTDIR)$(INCLUDEDIR)/
	$(SUBST) packaging/llama.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/llama.pc
	$(SUBST) packaging/llama-config.cmake.in > $(DESTDIR)$(LIBDIR)/cmake/llama/llama-config.cmake
	$(SUBST) packaging/llama-config-version.cmake.in > $(DESTDIR)$(LIBDIR)/cmake/llama/llama-config-version.cmake

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libllama.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libllama.so.0 \
	      $(DESTDIR)$(LIBDIR)/libllama.so $(DESTDIR)$(LIBDIR)/pkgconfig/llama.pc
	rm -rf $(DESTDIR)$(LIBDIR)/cmake/llama
	cd $(DESTDIR)$(INCLUDEDIR) && rm -f llama.h ggml.h ggml-cpu.h ggml-backend.h ggml-opt.h gguf.h
