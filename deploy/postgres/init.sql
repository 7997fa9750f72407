-- One database per service (docs/architecture.md: one service, one database).
CREATE DATABASE registry;
CREATE DATABASE testing;
CREATE DATABASE events;
CREATE DATABASE notify;
CREATE DATABASE gateway;
