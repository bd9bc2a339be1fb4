CREATE TABLE `barrier` (
	`id` bigint AUTO_INCREMENT NOT NULL,
	`trans_type` varchar(45) DEFAULT '',
	`gid` varchar(128) DEFAULT '',
	`branch_id` varchar(128) DEFAULT '',
	`op` varchar(45) DEFAULT '',
	`barrier_id` varchar(45) DEFAULT '',
	`reason` varchar(45) DEFAULT '',
	`create_time` datetime DEFAULT now(),
	`update_time` datetime DEFAULT now(),
	CONSTRAINT `barrier_id` PRIMARY KEY(`id`),
	CONSTRAINT `uniq_barrier` UNIQUE(`gid`,`branch_id`,`op`,`barrier_id`)
);
--> statement-breakpoint
CREATE INDEX `create_time` ON `barrier` (`create_time`);--> statement-breakpoint
CREATE INDEX `update_time` ON `barrier` (`update_time`);