"""Bootstrap: what a fresh lab cloud needs (flavors, demo project, image, networks), found or
created through openstacksdk. Import the submodules themselves."""
