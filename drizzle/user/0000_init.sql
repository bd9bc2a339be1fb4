CREATE TABLE `user` (
	`id` bigint NOT NULL,
	`name` varchar(64) NOT NULL,
	`gender` varchar(16) NOT NULL,
	`password_hash` varchar(255),
	`created_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	CONSTRAINT `user_id` PRIMARY KEY(`id`)
);
