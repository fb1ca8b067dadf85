-- One database per service, as in production. Run once, by the postgres
-- image's entrypoint, when the volume is first initialised.
CREATE DATABASE users OWNER kitshop;
CREATE DATABASE products OWNER kitshop;
CREATE DATABASE orders OWNER kitshop;
