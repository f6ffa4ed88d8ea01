// The sniffer is part of the job contract both daemons share; it lives in a module of its own (no
// dependencies) so the fuzz package can build it without the HTTP stack.
@_exported import MediaTypes
